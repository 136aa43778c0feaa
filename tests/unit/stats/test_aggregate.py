"""Aggregation and its tables: per feed and day, aggregators' latest figures, distinct direct
clients (HyperLogLog), several workers adding up, the day rollover and retention."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.stats import hll
from feedsvc.stats.aggregate import Aggregator, client_hash, feed_of
from feedsvc.stats.report import build_report
from feedsvc.stats.service import AudienceStats
from feedsvc.store.models import StatsSalt

from tests.helpers.app import START, another_worker, services

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {} subscribers; )"
NEWSBOAT = "Newsboat/2.30.1 - https://newsboat.org/"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
TODAY = date(2026, 11, 20)  # START in Hà Nội


def stats_of(app: Flask) -> AudienceStats:
    found = services(app).stats
    assert found is not None
    return found


def hit(app: Flask, path: str, agent: str, address: str = "203.0.113.7", **headers: str) -> int:
    environ: dict[str, Any] = {"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    response = app.test_client().get(path, environ_base=environ)
    return response.status_code


def rows(app: Flask, since: date = TODAY - timedelta(days=400)) -> tuple[list[Any], list[Any]]:
    stats_of(app).flush()
    with services(app).db.reading() as session:
        return store.feed_days(session, since), store.client_days(session, since)


def test_feed_paths() -> None:
    assert feed_of("/feeds/thoi-su.rss") == "thoi-su"
    assert feed_of("/feeds/all.json") == "all"
    assert feed_of("/feeds/thoi-su.html") is None
    assert feed_of("/feeds/a/b.rss") is None and feed_of("/api/v1/articles") is None


def test_hyperloglog_error_is_as_stated() -> None:
    rng = random.Random(7)
    for true_count in (100, 5_000, 200_000):
        sketch = hll.new_sketch()
        for _ in range(true_count):
            hll.add(sketch, rng.getrandbits(64))
        error = abs(hll.estimate(sketch) - true_count) / true_count
        assert error < 4 * hll.STANDARD_ERROR, (true_count, hll.estimate(sketch))
    assert round(hll.STANDARD_ERROR, 4) == 0.0163


def test_the_same_client_is_one_client_whatever_it_fetches(newsroom: Flask) -> None:
    for _ in range(3):
        assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT, address="198.51.100.9") == 200
    feeds, clients = rows(newsroom)
    (day,) = feeds
    assert (day.day, day.feed, day.requests, day.direct_clients) == (TODAY, "thoi-su", 4, 2)
    assert [(c.name, c.family, c.requests) for c in clients] == [("newsboat", "desktop reader", 4)]


def test_aggregators_latest_figure_and_the_estimated_total(
    newsroom: Flask, clock: FrozenClock
) -> None:
    assert hit(newsroom, "/feeds/thoi-su.rss", FEEDLY.format(16)) == 200
    stats_of(newsroom).flush()
    clock.advance(60)
    etag = newsroom.test_client().get("/feeds/thoi-su.rss", headers={"User-Agent": "curl/8.5.0"})
    etag = etag.headers["ETag"]
    assert hit(newsroom, "/feeds/thoi-su.rss", FEEDLY.format(18), if_none_match=etag) == 304
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    assert hit(newsroom, "/feeds/thoi-su.rss", BOT) == 200  # a bot is no reader
    feeds, clients = rows(newsroom)
    feedly = next(c for c in clients if c.name == "Feedly")
    assert (feedly.subscribers, feedly.requests, feedly.not_modified, feedly.validated) == (
        18,
        2,
        1,
        1,
    )
    report = build_report(feeds, clients, TODAY)
    (summary,) = report.feeds
    assert (summary.subscribers, summary.from_aggregators, summary.direct_clients) == (19, 18, 1)
    families = {row.family: row for row in report.families}
    assert families["aggregator"].revalidates == "partly"
    assert families["desktop reader"].revalidates == "never"
    assert [a.name for a in report.aggregators] == ["Feedly"]


def test_two_workers_add_up(newsroom: Flask) -> None:
    other = another_worker(newsroom)
    try:
        assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT, address="192.0.2.1") == 200
        assert hit(other, "/feeds/thoi-su.rss", NEWSBOAT, address="192.0.2.1") == 200
        assert hit(other, "/feeds/thoi-su.rss", NEWSBOAT, address="192.0.2.2") == 200
        stats_of(other).flush()
        (day,), (client,) = rows(newsroom)
        # One salt per day for every process: the same client in two workers is one.
        assert (day.requests, day.direct_clients, client.requests) == (3, 2, 3)
    finally:
        services(other).shutdown()


def test_day_rollover_in_the_newsrooms_time_zone(newsroom: Flask, clock: FrozenClock) -> None:
    # START is 10:00 in Hà Nội; 13 h 59 later it is still the 20th there, a minute on the 21st.
    clock.advance(13 * 3600 + 59 * 60)
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    stats_of(newsroom).flush()
    clock.advance(120)
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    feeds, _clients = rows(newsroom)
    assert [(f.day, f.requests, f.direct_clients) for f in feeds] == [
        (TODAY, 1, 1),
        (TODAY + timedelta(days=1), 1, 1),
    ]


def test_each_day_has_its_own_secret_and_old_ones_go(newsroom: Flask, clock: FrozenClock) -> None:
    stats = stats_of(newsroom)
    first = stats.salt_for(TODAY)
    assert len(first) == 32 and stats.salt_for(TODAY + timedelta(days=1)) != first
    assert client_hash(first, "192.0.2.1", "x") != client_hash(
        stats.salt_for(TODAY + timedelta(days=1)), "192.0.2.1", "x"
    )
    clock.advance(3 * 86400)
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    stats.flush()  # writes, then prunes: only yesterday's and today's secrets stay
    with services(newsroom).db.reading() as session:
        kept = session.execute(select(StatsSalt.day)).scalars().all()
    assert TODAY not in kept


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_STATS_RETENTION_DAYS": "3"}])
def test_retention_deletes_older_days(newsroom: Flask, clock: FrozenClock) -> None:
    for _ in range(6):
        assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
        stats_of(newsroom)._pruned_at = None  # prune at every flush for the test (else hourly)
        stats_of(newsroom).flush()
        clock.advance(86400)
    feeds, clients = rows(newsroom)
    last = TODAY + timedelta(days=5)
    assert [f.day for f in feeds] == [last - timedelta(days=2), last - timedelta(days=1), last]
    assert {c.day for c in clients} == {f.day for f in feeds}


def test_figures_wait_in_memory_while_the_database_is_down(newsroom: Flask) -> None:
    stats = stats_of(newsroom)
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
    stats.flush()
    aggregator = Aggregator(lambda _day: b"k" * 32)
    aggregator.add(TODAY, "/feeds/thoi-su.rss", 200, "192.0.2.5", NEWSBOAT, False, START)
    days = aggregator.take()
    aggregator.put_back(days)
    aggregator.add(TODAY, "/feeds/thoi-su.rss", 304, "192.0.2.5", NEWSBOAT, True, START)
    ((_key, figures),) = aggregator.take().items()
    assert (figures.requests, figures.not_modified, hll.estimate(figures.sketch)) == (2, 1, 1)


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_STATS": "off"}])
def test_off_records_nothing(newsroom: Flask) -> None:
    assert services(newsroom).stats is None
    assert hit(newsroom, "/feeds/thoi-su.rss", NEWSBOAT) == 200
