"""What the editors' page and ``/stats.json`` show, computed from the stored days.

Per feed and day, the estimated total of subscribers is the sum of the aggregators' latest
figures plus the distinct direct clients (readers, browsers, aggregators that report no figure;
never bots or our relay). Families are judged over the last 30 days: their share of ``304``,
and whether they revalidate (send If-None-Match or If-Modified-Since): ``always`` at 90 % or
more of their requests, ``never`` at none, else ``partly``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from feedsvc.stats.useragents import AGGREGATOR, FAMILIES
from feedsvc.store.stats import ClientDayRow, FeedDayRow

LONG_DAYS = 90
SHORT_DAYS = 30
MIN_REQUESTS_NEVER = 2  # a client seen once cannot be said never to revalidate
TOP = 10


@dataclass(frozen=True)
class FeedSummary:
    """One feed: its latest estimated total and its parts, and its daily totals."""

    feed: str
    subscribers: int  # the estimated total on the latest day with figures
    from_aggregators: int
    direct_clients: int
    requests_30d: int
    not_modified_share: float
    series: list[tuple[date, int]] = field(default_factory=list)  # (day, estimated total)


@dataclass(frozen=True)
class FamilyRow:
    """One family of clients over the last 30 days."""

    family: str
    requests: int
    not_modified_share: float
    validated_share: float
    revalidates: str  # always / partly / never


@dataclass(frozen=True)
class AggregatorRow:
    """An aggregator and the subscribers it reported last, over every feed."""

    name: str
    subscribers: int
    feeds: int


@dataclass(frozen=True)
class ClientRow:
    """A client that fetched without ever revalidating in the last 30 days."""

    name: str
    family: str
    requests: int
    feeds: int


@dataclass(frozen=True)
class Report:
    """Everything the page shows."""

    today: date
    feeds: list[FeedSummary]
    families: list[FamilyRow]
    aggregators: list[AggregatorRow]
    never_revalidate: list[ClientRow]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def build_report(
    feed_rows: list[FeedDayRow],
    client_rows: list[ClientDayRow],
    today: date,
    top: int | None = TOP,
) -> Report:
    """The page's figures from the rows of the last LONG_DAYS days; ``top`` aggregators and
    never-revalidating clients (None: all of them)."""
    start = today - timedelta(days=LONG_DAYS - 1)
    recent = today - timedelta(days=SHORT_DAYS - 1)
    from_aggregators: dict[tuple[str, date], int] = defaultdict(int)
    latest_figure: dict[tuple[str, str], tuple[date, int]] = {}
    families: dict[str, list[int]] = {name: [0, 0, 0] for name in FAMILIES}
    clients: dict[str, list[Any]] = {}
    for row in client_rows:
        if row.day < start:
            continue
        if row.subscribers is not None and row.family == AGGREGATOR:
            from_aggregators[(row.feed, row.day)] += row.subscribers
            latest_figure[(row.name, row.feed)] = (row.day, row.subscribers)
        if row.day >= recent:
            counts = families.setdefault(row.family, [0, 0, 0])
            counts[0] += row.requests
            counts[1] += row.not_modified
            counts[2] += row.validated
            client = clients.setdefault(row.name, [row.family, 0, 0, set()])
            client[1] += row.requests
            client[2] += row.validated
            client[3].add(row.feed)
    series: dict[str, list[tuple[date, int, int, int]]] = defaultdict(list)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for frow in feed_rows:
        if frow.day < start:
            continue
        aggregated = from_aggregators.get((frow.feed, frow.day), 0)
        series[frow.feed].append((frow.day, aggregated + frow.direct_clients, aggregated,
                                  frow.direct_clients))  # fmt: skip
        if frow.day >= recent:
            totals[frow.feed][0] += frow.requests
            totals[frow.feed][1] += frow.not_modified
    feeds = []
    for feed, points in series.items():
        _day, total, aggregated, direct = points[-1]
        requests, not_modified = totals[feed]
        feeds.append(
            FeedSummary(
                feed,
                total,
                aggregated,
                direct,
                requests,
                _share(not_modified, requests),
                [(day, value) for day, value, _a, _d in points],
            )
        )
    feeds.sort(key=lambda f: (-f.subscribers, f.feed))
    family_rows = [
        FamilyRow(
            name,
            requests,
            _share(not_modified, requests),
            _share(validated, requests),
            "always" if validated >= 0.9 * requests else "never" if not validated else "partly",
        )
        for name, (requests, not_modified, validated) in families.items()
        if requests
    ]
    by_aggregator: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (name, _feed), (_day, figure) in latest_figure.items():
        by_aggregator[name][0] += figure
        by_aggregator[name][1] += 1
    aggregators = sorted(
        (AggregatorRow(name, subs, n) for name, (subs, n) in by_aggregator.items()),
        key=lambda a: (-a.subscribers, a.name),
    )[:top]
    never = sorted(
        (
            ClientRow(name, family, requests, len(feeds_seen))
            for name, (family, requests, validated, feeds_seen) in clients.items()
            if validated == 0 and requests >= MIN_REQUESTS_NEVER
        ),
        key=lambda c: (-c.requests, c.name),
    )[:top]
    return Report(today, feeds, family_rows, aggregators, never)


def report_json(report: Report) -> dict[str, Any]:
    """``/stats.json``: the report as plain JSON values (days as ISO 8601 dates)."""
    raw = asdict(report)
    raw["today"] = report.today.isoformat()
    for feed in raw["feeds"]:
        feed["series"] = [{"day": day.isoformat(), "subscribers": n} for day, n in feed["series"]]
    return raw
