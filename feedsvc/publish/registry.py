"""The snapshots a worker serves, kept in memory and refreshed from the database cheaply.

A watcher thread polls one counter; when it moves, only the snapshots whose version changed are
loaded. If the database goes away, the worker keeps serving what it has.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable
from functools import partial

from feedsvc import store
from feedsvc.ops.periodic import ProcessThread
from feedsvc.publish.snapshot import FormatEntry, Snapshot, from_bundle
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

REFRESH_CHUNK = 8  # snapshot bundles read per query


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
    """Path -> (snapshot, format entry), replaced one feed at a time, never half-way."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[Snapshot, FormatEntry]] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()
        self.seen_counter = -1
        self.db_ok = True
        self.db_error: str | None = None

    def install(self, snapshot: Snapshot) -> bool:
        """Serve ``snapshot`` unless a newer version of that feed is already served."""
        with self._lock:
            current = self.snapshots.get(snapshot.key)
            if current is not None and current.version >= snapshot.version:
                return False
            self.snapshots[snapshot.key] = snapshot
            for fmt, entry in snapshot.formats.items():
                # One dict assignment per path: a request sees the old entry or the new one.
                self.routes[f"/feeds/{snapshot.key}.{fmt}"] = (snapshot, entry)
            return True

    def remove(self, key: str, only: Snapshot | None = None) -> None:
        """Stop serving feed ``key`` (its category was deleted): its paths answer 404.

        ``only``: remove it only if that snapshot is still the one served.
        """
        with self._lock:
            snapshot = self.snapshots.get(key)
            if snapshot is None or (only is not None and snapshot is not only):
                return
            del self.snapshots[key]
            for fmt in snapshot.formats:
                self.routes.pop(f"/feeds/{key}.{fmt}", None)

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
        return installed

    def poll(self, db: Database) -> None:
        """Refresh if the snapshot counter moved; remember whether the database answered."""
        try:
            with db.reading() as session:
                counter = store.read_counter(session, "snapshots")
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
