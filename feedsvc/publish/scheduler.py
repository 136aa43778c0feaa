"""The APScheduler jobs that call regeneration; nothing else.

Two jobs: the safety-net ``sweep`` every FEEDSVC_REGENERATE_SECONDS, and a light ``watch`` that
polls the change counter a few times a second, so a write made by any process or instance is in
its feeds within a fraction of a second (bursts of writes collapse into one run). A lease row in
the database makes exactly one process regenerate at a time, across every instance.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from feedsvc import store
from feedsvc.publish.regenerate import Regenerator
from feedsvc.store.db import DB_UNAVAILABLE

log = logging.getLogger(__name__)

LEASE_NAME = "regenerator"
LEASE_SECONDS = 10.0
WATCH_SECONDS = 0.1
WATCH_JOB = "watch"


class SkippedWatchTick(logging.Filter):
    """Turns APScheduler's "maximum number of running instances reached" warning for the watch
    job into a debug line of ours.

    The watch job is due every 0.1 s and may run for a whole regeneration (and every write
    through the API asks for a tick at once), so a tick that finds the previous one still
    running is how it works under a burst, not a fault: the running tick covers it. The sweep's
    warning, a real overrun, stays a warning.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False (dropped) for a skipped watch tick, after logging it at debug level."""
        args = record.args if isinstance(record.args, tuple) else ()
        job = args[0] if args else None
        message = record.msg if isinstance(record.msg, str) else ""
        if getattr(job, "id", None) == WATCH_JOB and "maximum number of running" in message:
            log.debug("scheduler: watch tick skipped, the previous one is still running")
            return False
        return True


# The logger APScheduler's schedulers write to unless given another (apscheduler.schedulers.base).
_APSCHEDULER_LOG = logging.getLogger("apscheduler.scheduler")
_SKIPPED_WATCH_TICK = SkippedWatchTick()


class RegenerationScheduler:
    """Runs regeneration on a schedule and when the database says something changed."""

    def __init__(
        self,
        regenerator: Regenerator,
        interval: int,
        *,
        blocking: bool = False,
        watch_seconds: float = WATCH_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.regenerator = regenerator
        self.db = regenerator.db
        self.clock = regenerator.clock
        self.interval = interval
        self.watch_seconds = watch_seconds
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False
        self._db_down = False
        self._lease_until: datetime | None = None
        self._seen_changes = -1
        self._next_embargo: datetime | None = None
        self._run_lock = threading.Lock()
        self._lease_lock = threading.Lock()
        self.sweeps = 0
        self._scheduler: BaseScheduler = (
            BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
        )

    def start(self) -> None:
        """Add the two jobs and start (blocks when created with blocking=True)."""
        self.regenerator.start_pool()
        self._scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.interval,
            id="sweep",
            coalesce=True,
            max_instances=1,
            # A late run (busy process, suspended machine) still happens, once.
            misfire_grace_time=max(1, self.interval),
            next_run_time=self.clock.now(),
        )
        _APSCHEDULER_LOG.addFilter(_SKIPPED_WATCH_TICK)  # once per process (the same object)
        self._scheduler.add_job(
            self.watch,
            "interval",
            seconds=self.watch_seconds,
            id=WATCH_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop the jobs and give the lease up so another process takes over at once."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.regenerator.stop_pool()
        if self.holding:
            try:
                with self.db.writing() as session:
                    store.release_lease(session, LEASE_NAME, self.holder)
            except Exception:
                log.warning("scheduler: could not release the lease; it expires by itself")
            self.holding = False

    def shutdown_from_signal(self) -> None:
        """Stop the jobs without waiting (safe inside a signal handler)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def wake(self) -> None:
        """Run the watch job now (a write happened in this process)."""
        if self._scheduler.running:
            job = self._scheduler.get_job(WATCH_JOB)
            if job is not None:
                job.modify(next_run_time=datetime.now(job.next_run_time.tzinfo))

    # --- jobs ----------------------------------------------------------------------------------

    def sweep(self) -> None:
        """The scheduled run: regenerate whatever changed, counted in the ``sweeps`` counter."""
        if not self._hold_lease():
            return
        try:
            with self.db.writing() as session:
                store.bump_counter(session, "sweeps")
            self.sweeps += 1
            self._run("sweep")
        except Exception:
            # A failed run is logged; the next interval runs again all the same.
            log.exception("scheduler: sweep failed")

    def watch(self) -> None:
        """Cheap poll: regenerate when the change counter moved or an embargo has ended."""
        try:
            if not self._hold_lease():
                return
            with self.db.reading() as session:
                changes = store.read_counter(session, "changes")
            now = self.clock.now()
            embargo_due = self._next_embargo is not None and self._next_embargo <= now
            if (changes != self._seen_changes or embargo_due) and self._run("change"):
                # Only a run that happened covers these changes: one skipped because a sweep
                # held the lock must not hide a write from the next tick.
                self._seen_changes = changes
        except DB_UNAVAILABLE as exc:
            self._database_down(exc)
        except Exception:
            log.exception("scheduler: watch failed")

    def _database_down(self, exc: Exception) -> None:
        """Log an outage once, not on every watch tick with a traceback."""
        if not self._db_down:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            log.warning("scheduler: database unreachable, not regenerating: %s", reason)
        self._db_down = True

    def _run(self, reason: str) -> bool:
        """Regenerate now unless a run is already going; True when this run completed."""
        if not self._run_lock.acquire(blocking=False):
            return False
        try:
            result = self.regenerator.run()
            with self.db.reading() as session:
                self._next_embargo = store.next_embargo(session, self.clock.now())
            if result.rendered or result.failed:
                log.info(
                    "regenerate (%s): rendered %s, failed %s in %.3f s",
                    reason,
                    ",".join(result.rendered) or "-",
                    ",".join(result.failed) or "-",
                    result.seconds,
                )
            return True
        finally:
            self._run_lock.release()

    def _hold_lease(self) -> bool:
        """Take or renew the lease when it is due; True while this process holds it."""
        # The sweep and the watch job run on two threads: one at a time here, or at start both
        # would insert the lease row and the loser would log it lost "to another process".
        with self._lease_lock:
            return self._take_lease()

    def _take_lease(self) -> bool:
        """:meth:`_hold_lease`'s work, under its lock."""
        now = self.clock.now()
        renew_at = None
        if self._lease_until is not None:
            renew_at = self._lease_until - timedelta(seconds=self.lease_seconds * 2 / 3)
        if self.holding and renew_at is not None and now < renew_at:
            return True
        until = now + timedelta(seconds=self.lease_seconds)
        try:
            with self.db.writing() as session:
                got = store.acquire_lease(session, LEASE_NAME, self.holder, now, until)
        except Exception as exc:
            self._database_down(exc)
            self.holding = False
            return False
        if self._db_down:
            log.info("scheduler: database reachable again")
            self._db_down = False
        if got and not self.holding:
            log.info("scheduler: %s now regenerates", self.holder)
            self._seen_changes = -1
        elif self.holding and not got:
            log.warning("scheduler: %s lost the lease to another process", self.holder)
        self.holding = got
        self._lease_until = until if got else None
        return got
