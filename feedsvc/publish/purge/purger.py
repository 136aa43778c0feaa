"""Running the purges off the regeneration path: one thread per cache, retries with backoff.

The regenerator's listener only records ``(feed, version)`` and returns, so a slow or broken
cache never holds up regeneration or the newsroom's request. Each cache's thread takes every
feed waiting, first lets ``ready`` say that the instances serve the new version (else a purged
cache could fetch the old one again from a worker that has not loaded it), then purges them in
one go. A failure worth retrying is retried after 0.1 s, doubling, until ``give_up_seconds``
after the version was recorded; then, or at once for a failure only an operator can fix, it is
logged as given up. :meth:`CachePurger.wait` lets a WebSub delivery leave only once its version
is purged (or given up) in every cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from feedsvc.publish.purge.base import PurgeError, PurgeTarget
from feedsvc.publish.snapshot import Snapshot

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0
Ready = Callable[[str, int], object]  # blocks (boundedly) until a version is served


class _Lane:
    """One cache: what waits to be purged there, and up to which version each feed is done."""

    def __init__(self, target: PurgeTarget) -> None:
        self.target = target
        self.waiting: dict[str, tuple[int, float]] = {}  # feed -> (version, recorded at)
        self.done: dict[str, int] = {}  # feed -> newest version purged or given up
        self.thread: threading.Thread | None = None


class CachePurger:
    """Purges changed feeds from every configured cache, in the background."""

    def __init__(
        self,
        targets: Sequence[PurgeTarget],
        give_up_seconds: float,
        ready: Ready | None = None,
    ) -> None:
        self.lanes = [_Lane(t) for t in targets]
        self.give_up_seconds = give_up_seconds
        self.ready = ready
        self._cond = threading.Condition()
        self._stopping = False
        self.purged = 0  # purge calls that succeeded, for tests and logs
        self.failures = 0  # failed attempts
        self.given_up = 0

    # --- what regeneration and deliveries call ----------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Regenerator listener: record the new version for every cache (no I/O)."""
        self.start()
        now = time.monotonic()
        with self._cond:
            for lane in self.lanes:
                before = lane.waiting.get(snapshot.key)
                since = now if before is None else before[1]  # the oldest wait sets the bound
                lane.waiting[snapshot.key] = (
                    max(snapshot.version, before[0] if before else 0),
                    since,
                )
            self._cond.notify_all()

    def wait(self, key: str, version: int, timeout: float | None = None) -> bool:
        """Block until ``version`` of feed ``key`` is purged or given up in every cache (True),
        or ``timeout`` (default: give_up_seconds and a second) has passed (False)."""
        deadline = time.monotonic() + (self.give_up_seconds + 1 if timeout is None else timeout)
        with self._cond:
            while not all(lane.done.get(key, 0) >= version for lane in self.lanes):
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self._cond.wait(left)
        return True

    # --- the threads ------------------------------------------------------------------------

    def start(self) -> None:
        """Start one thread per cache (once)."""
        with self._cond:
            self._stopping = False
            for lane in self.lanes:
                if lane.thread is None:
                    lane.thread = threading.Thread(
                        target=self._run, args=(lane,), name=f"purge-{lane.target.name}",
                        daemon=True,
                    )  # fmt: skip
                    lane.thread.start()

    def stop(self) -> None:
        """Stop the threads (what waits is dropped: the next regeneration purges again)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for lane in self.lanes:
            if lane.thread is not None:
                lane.thread.join(timeout=5)
                lane.thread = None
            lane.target.close()

    def _run(self, lane: _Lane) -> None:
        while True:
            with self._cond:
                while not lane.waiting and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                batch, lane.waiting = lane.waiting, {}
            self._purge(lane, batch)

    def _purge(self, lane: _Lane, batch: dict[str, tuple[int, float]]) -> None:
        """Purge ``batch`` in one cache, retrying until its oldest entry's bound passes."""
        if self.ready is not None:
            for key, (version, _since) in batch.items():
                self.ready(key, version)
        feeds = sorted(batch)
        deadline = min(since for _v, since in batch.values()) + self.give_up_seconds
        name = lane.target.name
        backoff = FIRST_BACKOFF
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                lane.target.purge(feeds)
            except PurgeError as exc:
                self.failures += 1
                left = deadline - time.monotonic()
                if not exc.retry or left <= backoff or self._stopping:
                    self.given_up += 1
                    log.error(
                        "purge: %s: gave up purging %s after %d attempt(s): %s",
                        name, ", ".join(feeds), attempt, exc,
                    )  # fmt: skip
                    break
                log.warning(
                    "purge: %s: attempt %d for %s failed (%s); retrying in %.1f s",
                    name, attempt, ", ".join(feeds), exc, backoff,
                )  # fmt: skip
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception:  # a bug in an adapter must not end the thread
                self.given_up += 1
                log.exception("purge: %s: purging %s failed", name, ", ".join(feeds))
                break
            self.purged += 1
            log.info(
                "purge: %s: purged %s in %.0f ms",
                name, ", ".join(feeds), (time.monotonic() - started) * 1000,
            )  # fmt: skip
            break
        with self._cond:
            for key, (version, _since) in batch.items():
                lane.done[key] = max(lane.done.get(key, 0), version)
            self._cond.notify_all()
