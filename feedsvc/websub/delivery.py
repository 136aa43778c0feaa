"""Content distribution (WebSub §7) from the durable queue in the database.

The regenerator's listener only writes queue rows (:func:`feedsvc.websub.store.enqueue`). A
:class:`HubWorker` thread, in the process that runs the scheduler, claims due rows — requests to
verify and deliveries — and hands them to a small pool, so one slow callback never holds up the
others, and nothing here ever runs on a request of a reader or of the newsroom.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from feedsvc import store as feed_store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.http.signature import signature
from feedsvc.publish.snapshot import Snapshot, from_bundle
from feedsvc.store.db import Database
from feedsvc.websub import store
from feedsvc.websub.client import CallbackError, CallbackRefused, Caller, describe_url
from feedsvc.websub.gate import DeliveryGate
from feedsvc.websub.hub import retry_delay, verify_intent
from feedsvc.websub.safety import callback_host

log = logging.getLogger(__name__)

CONCURRENCY = 8  # requests to callbacks in flight at once
# Verifications use at most this many of them: deliveries always keep the rest, so requests
# from strangers (each one a verification) can never hold up a subscriber's delivery.
VERIFY_SLOTS = 3
POLL_SECONDS = 0.5  # how often the queue is checked when nobody wakes the worker
PURGE_SECONDS = 60.0  # how often expired subscriptions are removed


class SnapshotCache:
    """The newest snapshot of each feed: handed over by the regenerator in this process, or
    loaded from the database when another process rendered it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._latest: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def put(self, snapshot: Snapshot) -> None:
        """Remember a freshly rendered snapshot (unless a newer one is known)."""
        with self._lock:
            known = self._latest.get(snapshot.key)
            if known is None or known.version < snapshot.version:
                self._latest[snapshot.key] = snapshot

    def get(self, key: str) -> Snapshot | None:
        """The current snapshot of a feed, or None when it has none."""
        with self.db.reading() as session:
            head = feed_store.snapshot_head(session, key)
            if head is None:
                return None
            with self._lock:
                known = self._latest.get(key)
            if known is not None and known.version >= head.version:
                return known
            row = feed_store.get_snapshot(session, key)
        if row is None:
            return None
        snapshot = from_bundle(row.bundle)
        self.put(snapshot)
        return snapshot


class Distributor:
    """Sends one claimed delivery and records the outcome."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        caller: Caller,
        cache: SnapshotCache,
        gate: DeliveryGate | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.caller = caller
        self.cache = cache
        self.gate = gate
        self.hub_url = f"{settings.base_url}/websub"

    def deliver(self, job: store.DeliveryJob) -> str:
        """POST the feed's current bytes to the callback (§7); the outcome's name."""
        snapshot = self.cache.get(job.feed_key)
        entry = None if snapshot is None else snapshot.formats.get(job.fmt)
        if snapshot is None or entry is None:
            return self._failed(job, job.version, "the feed has no snapshot", final=True)
        if self.gate is not None:
            # Subscribers that fetch the feed on a delivery must get this version, not a 304.
            self.gate.wait(snapshot.key, snapshot.version)
        body = entry.identity.body
        headers = {
            "Content-Type": entry.content_type,
            # §7: one rel=hub and one rel=self link, which hubs SHOULD combine in one header.
            "Link": f'<{self.hub_url}>; rel="hub", <{job.topic}>; rel="self"',
        }
        if job.secret:
            headers["X-Hub-Signature"] = signature(job.secret, body)
        try:
            reply = self.caller.request("POST", job.callback, body, headers)
        except (CallbackRefused, CallbackError) as exc:
            return self._failed(job, snapshot.version, str(exc))
        if 200 <= reply.status < 300:
            with self.db.writing() as session:
                store.delivered(session, job, snapshot.version, self.clock.now())
            return "delivered"
        if reply.status == 410:
            # §7: "410 … the subscription has been deleted": the hub ends it.
            with self.db.writing() as session:
                store.end_subscription(session, job.subscription_id)
            log.info("websub: %s answered 410 Gone; subscription ended", describe_url(job.callback))
            return "gone"
        return self._failed(job, snapshot.version, f"HTTP {reply.status}")

    def _failed(self, job: store.DeliveryJob, version: int, error: str, final: bool = False) -> str:
        failures = job.attempts + 1
        now = self.clock.now()
        target = describe_url(job.callback)
        retry_at: datetime | None = None
        if not final and failures < self.settings.websub_max_attempts:
            delay = retry_delay(failures, self.settings.websub_backoff_seconds)
            retry_at = now + timedelta(seconds=delay)
            log.info("websub: delivery to %s failed (%s); retry in %.1f s", target, error, delay)
        else:
            log.warning("websub: %s: delivery dropped after %d tries: %s", target, failures, error)
        with self.db.writing() as session:
            store.failed(session, job, version, error[:500], retry_at, now)
        return "retry" if retry_at else "dropped"


class HubWorker:
    """The background thread that runs verifications and deliveries from the queue."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        caller: Caller,
        cache: SnapshotCache,
        gate: DeliveryGate | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.caller = caller
        self.distributor = Distributor(db, settings, clock, caller, cache, gate)
        # A claim outlives the slowest exchange (each ends within 2 × timeout), with margin.
        self.claim = timedelta(seconds=settings.websub_timeout_seconds * 2 + 30)
        self._pool: ThreadPoolExecutor | None = None
        # Each request under way: whether it is a verification, and its callback's host.
        self._inflight: dict[Future[str], tuple[bool, str]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged = 0.0
        self._next_due: datetime | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="websub-send")
        self._thread = threading.Thread(target=self._loop, name="websub-hub", daemon=True)
        self._thread.start()
        log.info("websub: hub worker started")

    def wake(self) -> None:
        """Look at the queue now (something was just queued)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop taking work and wait for requests in flight (each bounded by its timeout)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread = None

    def _loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.tick()
                if failing:
                    log.info("websub: hub worker running again")
                failing = False
            except Exception:
                # The database may be away for a while: say so once, try again at each poll.
                if not failing:
                    log.exception("websub: hub worker cannot reach its queue; retrying")
                failing = True
            self._wake.wait(self._pause())
            self._wake.clear()

    def _pause(self) -> float:
        """Until the next poll, or sooner when a retry is due before it."""
        if self._next_due is None:
            return POLL_SECONDS
        wait = (self._next_due - self.clock.now()).total_seconds()
        return min(POLL_SECONDS, max(0.01, wait))

    def tick(self) -> int:
        """Claim due work for the free slots of the pool; how many jobs were started.

        Verifications take at most VERIFY_SLOTS slots, deliveries the rest; no callback host
        gets more than FEEDSVC_WEBSUB_HOST_CONCURRENCY requests at once.
        """
        self._inflight = {f: job for f, job in self._inflight.items() if not f.done()}
        free = CONCURRENCY - len(self._inflight)
        now = self.clock.now()
        self._purge(now)
        if free <= 0:
            self._next_due = None  # a finishing job wakes the loop: no need to poll sooner
            return 0
        with self.db.reading() as session:
            self._next_due = store.next_due(session, now)
        if self._next_due is None or self._next_due > now:
            return 0
        verifying = sum(1 for is_verify, _ in self._inflight.values() if is_verify)
        room = store.HostRoom(self.settings.websub_host_concurrency)
        room.busy.update(host for _, host in self._inflight.values())
        until = now + self.claim
        with self.db.writing() as session:
            share = max(0, min(free, VERIFY_SLOTS - verifying))
            verifications = store.claim_verifications(session, now, until, share, room)
            left = free - len(verifications)
            deliveries = store.claim_deliveries(session, now, until, left, room)
        for vjob in verifications:
            self._submit(self._verify, vjob, True, vjob.callback)
        for djob in deliveries:
            self._submit(self.distributor.deliver, djob, False, djob.callback)
        if not verifications and not deliveries:
            # What is due waits for a slot or for its host: the next finishing job wakes the
            # loop, so looking again at once would only spin.
            self._next_due = None
        return len(verifications) + len(deliveries)

    def _verify(self, job: store.VerifyJob) -> str:
        return verify_intent(job, self.caller, self.db, self.settings, self.clock)

    def _submit(
        self, work: Callable[[Any], str], job: object, is_verify: bool, callback: str
    ) -> None:
        assert self._pool is not None
        future = self._pool.submit(work, job)
        self._inflight[future] = (is_verify, callback_host(callback))
        future.add_done_callback(self._done)

    def _done(self, future: Future[str]) -> None:
        error = future.exception() if not future.cancelled() else None
        if error is not None:
            log.error("websub: a job failed", exc_info=error)
        self._wake.set()  # a slot is free: more work may be waiting

    def _purge(self, now: datetime) -> None:
        if time.monotonic() - self._purged < PURGE_SECONDS:
            return
        self._purged = time.monotonic()
        with self.db.writing() as session:
            removed = store.purge_expired(session, now)
        if removed:
            log.info("websub: %d expired subscription(s) removed", removed)
