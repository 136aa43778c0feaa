"""Prometheus gauges of the audience, read from the database at scrape time (the same whichever
worker answers). Labels stay bounded: feeds that exist, the fixed families, and the aggregators
of the User-Agent table (anything else is ``other``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric

from feedsvc.clock import Clock
from feedsvc.stats.report import Report, build_report
from feedsvc.stats.useragents import AGENTS, AGGREGATOR, FAMILIES
from feedsvc.store import client_days, feed_days
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

KNOWN_AGGREGATORS = frozenset(a.name for a in AGENTS if a.family == AGGREGATOR)
OTHER = "other"


class AudienceCollector:
    """feedsvc_feed_subscribers, feedsvc_stats_family_requests, feedsvc_aggregator_subscribers."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        day_of: Callable[[datetime], date],
        feeds: Callable[[], Iterable[str]],
    ) -> None:
        self.db = db
        self.clock = clock
        self.day_of = day_of
        self.feeds = feeds

    def _report(self) -> Report | None:
        today = self.day_of(self.clock.now())
        try:
            with self.db.reading() as session:
                since = today - timedelta(days=1)
                rows = feed_days(session, since), client_days(session, since)
        except Exception as exc:
            log.debug("stats gauges: database unavailable: %s", exc)
            return None
        return build_report(*rows, today, top=None)

    def collect(self) -> Iterator[Metric]:
        """The gauges of the latest day with figures (nothing while the database is down)."""
        report = self._report()
        if report is None:
            return
        known = set(self.feeds())
        subscribers = GaugeMetricFamily(
            "feedsvc_feed_subscribers",
            "Estimated subscribers of each feed on the latest day with figures: aggregators' "
            "reported figures plus distinct direct readers (docs/stats.md)",
            labels=("feed",),
        )
        for feed in report.feeds:
            if feed.feed in known:
                subscribers.add_metric((feed.feed,), feed.subscribers)
        yield subscribers
        families = GaugeMetricFamily(
            "feedsvc_stats_family_requests",
            "Feed requests today and yesterday by client family",
            labels=("family",),
        )
        counted = {row.family: row.requests for row in report.families}
        for family in FAMILIES:
            families.add_metric((family,), counted.get(family, 0))
        yield families
        aggregators = GaugeMetricFamily(
            "feedsvc_aggregator_subscribers",
            "Subscribers each aggregator reported last, over every feed",
            labels=("aggregator",),
        )
        totals: dict[str, int] = {}
        for row in report.aggregators:
            name = row.name if row.name in KNOWN_AGGREGATORS else OTHER
            totals[name] = totals.get(name, 0) + row.subscribers
        for name, value in sorted(totals.items()):
            aggregators.add_metric((name,), value)
        yield aggregators
