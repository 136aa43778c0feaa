"""/metrics (issue 6, Observability): feed requests by feed, format and status, regeneration
runs, the database gauges, flushing once a second. The sum across processes is in
tests/system/test_metrics_processes.py."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from feedsvc.clock import FrozenClock
from feedsvc.ops.metrics import FLUSH_SECONDS, Flusher
from feedsvc.publish.regenerate import Regenerator
from feedsvc.store.db import Database

from tests.helpers.app import START, article, load, services
from tests.helpers.metrics import Samples, parse, series, value

METRICS_TOKEN = "metrics-test-token"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """/metrics on the app's own listener, for the bearer of this token (tests/security has
    the rest: it is not there without one)."""
    return {"FEEDSVC_METRICS_TOKEN": METRICS_TOKEN}


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


# --- one process --------------------------------------------------------------------------------


def test_feed_requests_by_feed_format_and_status(newsroom: Flask, client: FlaskClient) -> None:
    etag = client.get("/feeds/thoi-su.rss").headers["ETag"]
    requests = [
        ("GET", "/feeds/thoi-su.rss", {}, 200),
        ("HEAD", "/feeds/all.atom", {}, 200),
        ("GET", "/feeds/thoi-su.rss", {"If-None-Match": etag}, 304),
        ("GET", "/feeds/no-such-category.rss", {}, 404),
        ("GET", "/feeds/thoi-su.xml", {}, 404),
        ("POST", "/feeds/kinh-te.json", {}, 405),
        ("GET", "/feeds/kinh-te.json?limit=0", {}, 400),
    ]
    for method, path, headers, status in requests:
        assert client.open(path, method=method, headers=headers).status_code == status

    samples = scrape(client)
    expected = {
        ("thoi-su", "rss", "200"): 2,
        ("thoi-su", "rss", "304"): 1,
        ("all", "atom", "200"): 1,
        ("unknown", "unknown", "404"): 2,
        ("kinh-te", "json", "405"): 1,
        ("kinh-te", "json", "400"): 1,
    }
    found = {
        (s["feed"], s["format"], s["status"]): value(samples, "feedsvc_feed_requests_total", **s)
        for s in series(samples, "feedsvc_feed_requests_total")
    }
    assert found == expected
    # The 304 share: one 304 among three 200s.
    assert value(samples, "feedsvc_feed_not_modified_ratio") == pytest.approx(1 / 4)


def test_regeneration_runs_and_database_gauges(
    newsroom: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    feeds = len(services(newsroom).registry.snapshots)
    clock.advance(90)
    samples = scrape(client)

    assert value(samples, "feedsvc_regeneration_runs_total") == 1
    assert value(samples, "feedsvc_regeneration_failures_total") == 0
    assert value(samples, "feedsvc_regeneration_duration_seconds_count") == 1
    assert value(samples, "feedsvc_regeneration_feeds_total", outcome="rendered") == feeds == 4
    assert value(samples, "feedsvc_regeneration_feeds_total", outcome="failed") == 0
    assert value(samples, "feedsvc_regeneration_last_success_age_seconds") == 90
    assert value(samples, "feedsvc_regeneration_last_success_timestamp_seconds") == (
        START.timestamp()
    )
    assert value(samples, "feedsvc_articles_stored") == 3
    assert value(samples, "feedsvc_database_up") == 1
    assert value(samples, "feedsvc_regeneration_sweeps_total") == 0
    assert value(samples, "feedsvc_worker_snapshots", pid=str(os.getpid())) == feeds

    load(newsroom, [], [article("a4", "kinh-te")])
    result = services(newsroom).regenerator.run()
    samples = scrape(client)
    assert value(samples, "feedsvc_regeneration_runs_total") == 2
    assert value(samples, "feedsvc_regeneration_feeds_total", outcome="rendered") == (
        feeds + len(result.rendered)
    )
    assert value(samples, "feedsvc_articles_stored") == 4
    assert value(samples, "feedsvc_regeneration_last_success_age_seconds") == 0


def test_no_successful_run_yet_is_an_infinite_age(client: FlaskClient) -> None:
    samples = scrape(client)
    assert math.isinf(value(samples, "feedsvc_regeneration_last_success_age_seconds") or 0)
    assert series(samples, "feedsvc_regeneration_last_success_timestamp_seconds") == []


def test_a_run_that_cannot_finish_counts_as_a_failure(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    down = tmp_path / "down.db"
    down.mkdir()
    s = services(app)
    db = Database(f"sqlite:///{down}")
    regenerator = Regenerator(db, s.settings, s.clock)
    regenerator.run_observers.append(s.metrics.observe_run)
    try:
        with pytest.raises(OperationalError):
            regenerator.run()
    finally:
        db.dispose()
    samples = scrape(client)
    assert value(samples, "feedsvc_regeneration_runs_total") == 1
    assert value(samples, "feedsvc_regeneration_failures_total") == 1
    assert value(samples, "feedsvc_regeneration_feeds_total", outcome="failed") == 0


def test_database_down_is_reported_without_querying_it(unreachable_app: Flask) -> None:
    s = services(unreachable_app)
    s.registry.poll(s.db)  # what the watcher thread does every 0.2 s
    body, _ = s.metrics.exposition(None)
    samples = parse(body.decode())
    assert value(samples, "feedsvc_database_up") == 0
    for name in ("feedsvc_articles_stored", "feedsvc_regeneration_last_success_age_seconds"):
        assert series(samples, name) == []


def test_unknown_feeds_share_one_label(newsroom: Flask, client: FlaskClient) -> None:
    for i in range(50):
        assert client.get(f"/feeds/random-{i}.rss").status_code == 404
    assert services(newsroom).metrics.tally.counts == {404: {"": 50}}  # bounded memory too
    samples = scrape(client)
    unknown = {"feed": "unknown", "format": "unknown", "status": "404"}
    assert series(samples, "feedsvc_feed_requests_total") == [unknown]
    assert value(samples, "feedsvc_feed_requests_total", **unknown) == 50


@pytest.mark.parametrize(
    ("accept", "content_type", "tail"),
    [
        (None, "text/plain; version=0.0.4; charset=utf-8", "feedsvc_feed_not_modified_ratio 0.0\n"),
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text", "# EOF\n"),
    ],
)
def test_exposition_format_follows_accept(
    client: FlaskClient, accept: str | None, content_type: str, tail: str
) -> None:
    response = client.get("/metrics", headers={**SCRAPER, **({"Accept": accept} if accept else {})})
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.get_data(as_text=True).endswith(tail)


# --- flushing -----------------------------------------------------------------------------------


def test_hot_path_counts_reach_prometheus_on_flush(newsroom: Flask, client: FlaskClient) -> None:
    metrics = services(newsroom).metrics
    assert metrics.flusher.interval == FLUSH_SECONDS == 1.0
    client.get("/feeds/kinh-te.atom")  # the first request starts the flusher thread...
    metrics.flusher.stop()  # ...which this test replaces by explicit flushes (stop flushes once)
    labels = {"feed": "kinh-te", "format": "atom", "status": "200"}

    def counted() -> float | None:
        return metrics.registry.get_sample_value("feedsvc_feed_requests_total", labels)

    assert counted() == 1
    for _ in range(3):
        client.get("/feeds/kinh-te.atom")
    assert counted() == 1  # only the per-process dict moved
    assert metrics.tally.counts[200]["/feeds/kinh-te.atom"] == 4
    metrics.flush()
    assert counted() == 4
    metrics.flush()
    assert counted() == 4  # a flush adds only what is new


def test_flusher_thread_flushes_until_stopped() -> None:
    calls: list[str] = []
    flushed = threading.Event()

    def flush() -> None:
        calls.append(threading.current_thread().name)
        flushed.set()

    flusher = Flusher(flush, interval=0.01)
    flusher.start()
    assert flushed.wait(timeout=10)
    flusher.stop()
    assert calls[0] == "feedsvc-metrics"
    assert calls[-1] == threading.current_thread().name  # stop() flushes a last time
    after_stop = len(calls)
    flushed.clear()
    assert not flushed.wait(timeout=0.1)
    assert len(calls) == after_stop
