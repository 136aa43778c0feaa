"""The wait before a delivery leaves: until the version it carries is what readers get.

Many subscribers treat a delivery as a ping and fetch the feed at once; if a worker still served
the previous version they would get a ``304`` and miss the change. So a delivery of version V of
a feed waits until

- this instance serves V: its version board (:mod:`feedsvc.publish.board`) names V or newer,
  which the regenerating process does as soon as V is saved (a worker that has not loaded V yet
  loads it before answering); a process that serves nothing is not waited for; and
- every other live instance on the database serves it: each reports the ``snapshots`` counter up
  to which it serves every saved snapshot (:mod:`feedsvc.publish.instance`); the wait ends when
  every instance that reported in the last ``LIVE_SECONDS`` has reached the counter read once
  this instance served V (V was saved before, so its counter is at most that),

or until ``WAIT_SECONDS`` have passed: then the delivery leaves anyway, and the log says which
instance was late. Then, when caches in front are purged (:mod:`feedsvc.publish.purge`), until
every cache has dropped the older version (or its purge was given up, after
FEEDSVC_PURGE_GIVE_UP_SECONDS), so a subscriber fetching through the cache gets V too. With one
instance the wait is normally nil: one query, once per version (the deliveries of one version to
many subscribers ask once).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.publish.board import VersionBoard
from feedsvc.publish.instance import LIVE_SECONDS
from feedsvc.publish.purge import CachePurger
from feedsvc.store.db import Database
from feedsvc.store.instances import LiveInstance

log = logging.getLogger(__name__)

WAIT_SECONDS = 2.0  # the longest a delivery waits for the instances to serve its version
POLL_SECONDS = 0.02


class DeliveryGate:
    """Holds a delivery until its version is served everywhere, at most ``seconds``."""

    def __init__(
        self, db: Database, board: VersionBoard, clock: Clock, seconds: float = WAIT_SECONDS
    ) -> None:
        self.db = db
        self.board = board
        self.clock = clock
        self.seconds = seconds
        self._cleared: dict[str, int] = {}  # key -> a version known to be served everywhere
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.purger: CachePurger | None = None  # set by Services when caches are purged

    def wait(self, key: str, version: int) -> bool:
        """Block until version ``version`` of feed ``key`` is served by this instance and every
        other live one, and purged from the caches in front (True), or until a bound has
        passed (False)."""
        served = self.served(key, version)
        if self.purger is None:
            return served
        return self.purger.wait(key, version) and served

    def served(self, key: str, version: int) -> bool:
        """Block until version ``version`` of feed ``key`` is served by this instance and every
        other live one (True), or until the bound has passed (False)."""
        if self._cleared.get(key, 0) >= version:
            return True
        with self._lock:
            feed_lock = self._locks.setdefault(key, threading.Lock())
        # The deliveries of one version to many subscribers ask once: the others wait here.
        with feed_lock:
            return self._wait(key, version)

    def _wait(self, key: str, version: int) -> bool:
        if self._cleared.get(key, 0) >= version:
            return True
        started = time.monotonic()
        needed: int | None = None
        while True:
            try:
                late = self._here_late(key, version)
                if not late:
                    others = self._others()
                    if others and needed is None:
                        needed = self._counter()
                    late = [i.host for i in others if needed is None or i.counter < needed]
            except Exception as exc:  # the database is away: the delivery will say so
                log.debug("websub: instances not asked before delivering %r: %s", key, exc)
                return False
            if not late:
                self._cleared[key] = max(self._cleared.get(key, 0), version)
                return True
            waited = time.monotonic() - started
            if waited >= self.seconds:
                log.info(
                    "websub: feed %r version %d delivered after %.1f s although %s did not "
                    "serve it yet",
                    key,
                    version,
                    waited,
                    ", ".join(late),
                )
                return False
            time.sleep(POLL_SECONDS)

    def _here_late(self, key: str, version: int) -> list[str]:
        """["this instance"] while it serves an older version (and serves at all)."""
        if self.board.version(key) < version and self.board.workers_alive(LIVE_SECONDS):
            return ["this instance"]
        return []

    def _counter(self) -> int:
        """The counter every other instance must reach (the version was saved before)."""
        with self.db.reading() as session:
            return store.read_counter(session, "snapshots")

    def _others(self) -> list[LiveInstance]:
        """The other instances that reported in the last LIVE_SECONDS."""
        since = self.clock.now() - timedelta(seconds=LIVE_SECONDS)
        with self.db.reading() as session:
            found = store.live_instances(session, since)
        return [i for i in found if i.id != self.board.instance_id]
