"""The snapshots a worker serves, kept in memory and refreshed from the database cheaply.

A watcher thread polls one counter; when it moves, only the snapshots whose version changed are
loaded. If the database goes away, the worker keeps serving what it has.

Every version installed is first raised on the instance's version board
(:mod:`feedsvc.publish.board`), and a request finds its route through :meth:`current` when the
board names a newer version than the one this worker holds: once any worker of the instance has
served a version, none serves an older one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.ops.periodic import ProcessThread
from feedsvc.publish.board import VersionBoard
from feedsvc.publish.snapshot import FormatEntry, Snapshot, from_bundle
from feedsvc.render import PAGES, RENDERERS
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

REFRESH_CHUNK = 8  # snapshot bundles read per query
FEED_PREFIX = "/feeds/"
# What a request finds by path: the snapshot, the format's entry, and the feed's board slot.
Route = tuple[Snapshot, FormatEntry, int]


class SnapshotUnavailable(Exception):
    """The instance serves a newer version than this worker holds, and it cannot be loaded now
    (the database is unreachable): answering with the older one would go back in time."""


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Hand the pages freed by replaced snapshots back to the OS (glibc only).

    Replaced bodies (50-250 kB each) are freed among small live objects; glibc keeps such holes
    and, having raised its mmap threshold, puts the next bodies beside them, so without a trim
    a worker's resident memory settles some 80 MB above what it holds after a full reload.
    Called after a refresh that replaced snapshots, never on the request path.
    """
    if _TRIM is not None:
        _TRIM(0)


class SnapshotRegistry:
    """Path -> (snapshot, format entry, board slot), replaced one feed at a time, never
    half-way, and never behind the instance's board for long: see :meth:`current`.

    ``db`` is where a worker that is behind loads from (None: it never catches up, as in unit
    tests of the hot path); ``board`` is the instance's version board (default: this process's
    own).
    """

    def __init__(self, db: Database | None = None, board: VersionBoard | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.db = db
        self.board = board or VersionBoard()
        # The board's versions by slot, read by the hot path on every request (set on the
        # first install: a shared board's file is opened only when something is served).
        self.served: Sequence[int] = ()
        self._lock = threading.Lock()
        self.seen_counter = -1
        self.db_ok = True
        self.db_error: str | None = None
        # Every path a feed that exists is served at (``all``'s and each category's), rendered
        # or not: the hot path answers a miss on one of them 503, not 404 (a category just
        # created has no snapshot yet). Replaced whole, never changed in place.
        self.known_paths: frozenset[str] = frozenset()
        self._known_changes = -1  # the ``changes`` counter known_paths was read at
        self._short: dict[str, int] = {}  # key -> a board version the database did not have
        self._failing: set[str] = set()  # keys whose catch-up failure was logged

    def install(self, snapshot: Snapshot) -> bool:
        """Serve ``snapshot`` unless a newer version of that feed is already served."""
        with self._lock:
            current = self.snapshots.get(snapshot.key)
            if current is not None and current.version >= snapshot.version:
                return False
            # On the board before any request can see it: from now on, every worker of the
            # instance serves this version or a newer one.
            slot = self.board.raise_to(snapshot.key, snapshot.version)
            self.served = self.board.values
            self.snapshots[snapshot.key] = snapshot
            for fmt, entry in snapshot.formats.items():
                # One dict assignment per path: a request sees the old entry or the new one.
                self.routes[f"{FEED_PREFIX}{snapshot.key}.{fmt}"] = (snapshot, entry, slot)
            return True

    def current(self, path: str) -> Route | None:
        """The route of ``path`` at the newest version this instance serves (None: no such
        feed here). The hot path calls this only when the route is missing or the board names
        a newer version; a worker that is behind loads that version first, so a client never
        sees a feed go back in time between two requests. Raises SnapshotUnavailable when the
        newer version cannot be loaded."""
        route = self.routes.get(path)
        key = path[len(FEED_PREFIX) :].rpartition(".")[0] if path.startswith(FEED_PREFIX) else ""
        wanted = self.board.version(key) if key else 0
        held = self.snapshots.get(key)
        if wanted == 0 or (held is not None and held.version >= wanted) or self.db is None:
            return route
        if self._short.get(key) == wanted:
            return route  # the database has nothing newer: asked once already
        self._load(key, wanted)
        held = self.snapshots.get(key)
        if held is None or held.version < wanted:
            # Only when the database went back (restored from a backup): serve the newest it
            # has, and do not ask again on every request.
            self._short[key] = wanted
            log.warning(
                "snapshots: the instance served feed %r at version %d, the database has %s; "
                "serving what the database has",
                key,
                wanted,
                "no snapshot" if held is None else f"version {held.version}",
            )
        return self.routes.get(path)

    def _load(self, key: str, wanted: int) -> None:
        """Load the stored snapshot of ``key`` now (a request is waiting for it)."""
        assert self.db is not None
        try:
            with self.db.reading() as session:
                bundles = store.snapshot_bundles(session, [key])
            for bundle in bundles:
                self.install(from_bundle(bundle))
        except Exception as exc:
            if key not in self._failing:
                self._failing.add(key)
                log.warning(
                    "snapshots: feed %r is at version %d in this instance and cannot be loaded "
                    "here (%s); answering 503 until it can",
                    key,
                    wanted,
                    exc,
                )
            raise SnapshotUnavailable(key) from exc
        self._failing.discard(key)

    def remove(self, key: str, only: Snapshot | None = None) -> None:
        """Stop serving feed ``key`` (its category was deleted): its paths answer 404.

        ``only``: remove it only if that snapshot is still the one served.
        """
        with self._lock:
            snapshot = self.snapshots.get(key)
            if snapshot is None or (only is not None and snapshot is not only):
                return
            del self.snapshots[key]
            self.known_paths = frozenset(
                p for p in self.known_paths if not p.startswith(f"{FEED_PREFIX}{key}.")
            )
            for fmt in snapshot.formats:
                self.routes.pop(f"{FEED_PREFIX}{key}.{fmt}", None)

    def refresh(self, db: Database) -> int:
        """Load every snapshot whose stored version differs from ours, and drop those no longer
        stored; returns how many were loaded."""
        # What we served before reading: a snapshot installed meanwhile (by a regeneration in
        # this process) may be newer than the read, and is not dropped for missing from it.
        with self._lock:
            held = dict(self.snapshots)
        with db.reading() as session:
            counter = store.read_counter(session, "snapshots")
            versions = store.snapshot_versions(session)
        for key, snapshot in held.items():
            if key not in versions:
                self.remove(key, only=snapshot)
        stale = [
            key
            for key, version in versions.items()
            if key not in self.snapshots or self.snapshots[key].version < version
        ]
        installed = 0
        # A few bundles at a time: a worker starting on 100 feeds would otherwise hold every
        # bundle (about 1 MB each) and every snapshot made from them at once, twice its memory.
        # A chunk may bring a version newer than `versions` said; install() keeps the newest.
        for start in range(0, len(stale), REFRESH_CHUNK):
            with db.reading() as session:
                bundles = store.snapshot_bundles(session, stale[start : start + REFRESH_CHUNK])
            installed += sum(self.install(from_bundle(bundle)) for bundle in bundles)
            del bundles
            release_free_memory()
        self.seen_counter = counter
        # Everything saved up to `counter` is on the board now (what the instance reports).
        self.board.reach(counter)
        return installed

    def learn_feeds(self, keys: Iterable[str]) -> None:
        """Know that the feeds ``keys`` exist (``all``, category slugs), rendered or not."""
        paths = self._paths(keys)
        if not paths <= self.known_paths:
            self.known_paths = self.known_paths | paths

    @staticmethod
    def _paths(keys: Iterable[str]) -> set[str]:
        return {f"{FEED_PREFIX}{key}.{fmt}" for key in keys for fmt in (*RENDERERS, *PAGES)}

    def refresh_known(self, session: Session) -> None:
        """Learn the categories' feeds when the change counter moved (a category's creation
        moves it): a tiny query, then one more only after a write."""
        changes = store.read_counter(session, "changes")
        if changes != self._known_changes:
            # Replaced whole: a deleted category's feeds are no longer known (404, not 503).
            self.known_paths = frozenset(self._paths(store.feed_keys(session)))
            self._known_changes = changes

    def poll(self, db: Database) -> None:
        """Refresh if the snapshot counter moved; remember whether the database answered."""
        self.board.stamp()  # this worker is alive (the instance's report needs one)
        try:
            with db.reading() as session:
                counter = store.read_counter(session, "snapshots")
                self.refresh_known(session)
            if counter != self.seen_counter:
                self.refresh(db)
        except Exception as exc:
            if self.db_ok:
                log.warning("snapshots: database unavailable, serving what is in memory: %s", exc)
            self.db_ok = False
            self.db_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return
        if not self.db_ok:
            log.info("snapshots: database reachable again")
        self.db_ok = True
        self.db_error = None


class SnapshotWatcher(ProcessThread):
    """A daemon thread per worker process that keeps a registry fresh."""

    def __init__(self, registry: SnapshotRegistry, db: Database, interval: float = 0.1) -> None:
        super().__init__("feedsvc-snapshots", partial(registry.poll, db), interval)
        self.registry = registry
        self.db = db

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (also after a fork)."""
        # Load what is stored before this process answers its first request: a new worker must
        # never 404 a feed that exists.
        self.start(before=self.tick)
