"""The audience figures of one process: the hot path's recorder, the aggregator, and the thread
that writes them to the database every few seconds (each web worker writes its own; the upserts
of :mod:`feedsvc.store.stats` add them up) and deletes days past FEEDSVC_STATS_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.http.client import TrustedProxies
from feedsvc.ops.periodic import ProcessThread
from feedsvc.stats import hll
from feedsvc.stats.aggregate import Aggregator, FeedDay
from feedsvc.stats.hits import HitRecorder
from feedsvc.store.db import DB_UNAVAILABLE, Database

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
PRUNE_SECONDS = 3600.0


def merge_sketch(stored: bytes | None, new: bytes) -> tuple[bytes, int]:
    """A stored sketch with ``new`` folded in, and the merged estimate."""
    merged = bytearray(new)
    if stored is not None:
        hll.merge(merged, stored)
    return bytes(merged), hll.estimate(merged)


class AudienceStats:
    """Records, aggregates and writes this process's audience figures."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        timezone: ZoneInfo,
        trusted: TrustedProxies,
        retention_days: int,
    ) -> None:
        self.db = db
        self.clock = clock
        self.timezone = timezone
        self.retention_days = retention_days
        self.recorder = HitRecorder()
        self.aggregator = Aggregator(self.salt_for, trusted)
        self.thread = ProcessThread("feedsvc-stats", self.flush, FLUSH_SECONDS)
        self._salts: dict[date, bytes] = {}
        self._lock = threading.Lock()
        self._pruned_at: datetime | None = None
        self._warned = False

    @classmethod
    def from_settings(cls, db: Database, clock: Clock, settings: Settings) -> AudienceStats:
        """The figures as the settings configure them (the web workers and ``stats ingest-log``)."""
        return cls(
            db, clock, settings.timezone, settings.trusted_proxies, settings.stats_retention_days
        )

    def day_of(self, when: datetime) -> date:
        """The newsroom's calendar day of an instant (FEEDSVC_TIMEZONE)."""
        return when.astimezone(self.timezone).date()

    def salt_for(self, day: date) -> bytes:
        """The day's hashing secret, from the database once per day and process."""
        salt = self._salts.get(day)
        if salt is None:
            with self.db.writing() as session:
                salt = store.stats_salt(session, day)
            if len(self._salts) > 8:
                self._salts.clear()
            self._salts[day] = salt
        return salt

    def flush(self) -> None:
        """Aggregate the hits recorded since the last flush and write every figure."""
        with self._lock:
            hits = self.recorder.drain()
            now = self.clock.now()
            try:
                if hits:
                    self.aggregator.add_hits(hits, self.day_of(now), now)
                if self.write():
                    # Only a process that writes figures deletes old ones: an idle worker (or
                    # one whose database is gone) does not touch the database at all.
                    self.prune(now)
            except DB_UNAVAILABLE as exc:
                if not self._warned:
                    log.warning("stats: figures kept in memory, database unavailable: %s", exc)
                    self._warned = True
                return
            self._warned = False

    def write(self) -> bool:
        """Write what the aggregator gathered (kept for the next try when that fails); whether
        there was anything."""
        days = self.aggregator.take()
        if not days:
            return False
        try:
            with self.db.writing() as session:
                for (day, feed), figures in days.items():
                    _write_feed_day(session, day, feed, figures)
        except Exception:
            self.aggregator.put_back(days)
            raise
        return True

    def prune(self, now: datetime) -> None:
        """Delete the days past FEEDSVC_STATS_RETENTION_DAYS and the secrets of days over
        (at most once an hour per process)."""
        if self._pruned_at is not None and (now - self._pruned_at).total_seconds() < PRUNE_SECONDS:
            return
        today = self.day_of(now)
        with self.db.writing() as session:
            store.prune_stats(
                session,
                keep_from=today - timedelta(days=self.retention_days - 1),
                salts_from=today - timedelta(days=1),
            )
        self._pruned_at = now

    def start(self) -> None:
        """Start this process's flushing thread (once per process)."""
        self.thread.start()

    def stop(self) -> None:
        """Stop the thread after one last flush."""
        running = self.thread.running
        self.thread.stop()
        if running:
            try:
                self.flush()
            except Exception as exc:  # at exit: say so, never raise
                log.warning("stats: last flush failed: %s", exc)


def _write_feed_day(session: Session, day: date, feed: str, figures: FeedDay) -> None:
    counts = (figures.requests, figures.not_modified, figures.validated)
    # A sketch with no client (only aggregators' figures, or bots) changes nothing stored.
    sketch = None if figures.sketch.count(0) == len(figures.sketch) else bytes(figures.sketch)
    store.add_feed_day(session, day, feed, counts, sketch, merge_sketch)
    store.add_client_days(
        session,
        day,
        feed,
        [
            store.ClientCounts(
                name,
                tally.family,
                tally.requests,
                tally.not_modified,
                tally.validated,
                tally.subscribers,
                tally.seen_at,
            )
            for name, tally in figures.clients.items()
        ],
    )
