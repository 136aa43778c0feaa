"""The audience gauges on /metrics: the figures of the latest day, with bounded labels whatever
clients send."""

from __future__ import annotations

import pytest
from flask import Flask

from feedsvc.stats.useragents import FAMILIES

from tests.helpers.app import services
from tests.helpers.metrics import parse, series, value

TOKEN = "metrics-stats-token"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_METRICS_TOKEN": TOKEN}


def test_gauges_with_bounded_labels(newsroom: Flask) -> None:
    client = newsroom.test_client()
    agents = [
        "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )",
        "Newsboat/2.30.1",
        # Made-up aggregators: each a row of its own in the tables, "other" in the gauges.
        *(f"Invented{n}/1.0 (+https://x{n}.example; {n} subscribers)" for n in range(1, 30)),
    ]
    for n, agent in enumerate(agents):
        environ = {"REMOTE_ADDR": f"192.0.2.{n + 1}", "HTTP_USER_AGENT": agent}
        assert client.get("/feeds/thoi-su.rss", environ_base=environ).status_code == 200
    assert client.get("/feeds/nope.rss").status_code == 404
    services(newsroom).stats.flush()  # type: ignore[union-attr]
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    samples = parse(response.get_data(as_text=True))
    assert series(samples, "feedsvc_feed_subscribers") == [{"feed": "thoi-su"}]
    total = value(samples, "feedsvc_feed_subscribers", feed="thoi-su")
    assert total == 16 + sum(range(1, 30)) + 1
    assert {s["family"] for s in series(samples, "feedsvc_stats_family_requests")} == set(FAMILIES)
    assert value(samples, "feedsvc_stats_family_requests", family="aggregator") == 30
    aggregators = {s["aggregator"] for s in series(samples, "feedsvc_aggregator_subscribers")}
    assert aggregators == {"Feedly", "other"}  # the 29 invented ones share one label
    assert value(samples, "feedsvc_aggregator_subscribers", aggregator="Feedly") == 16
    assert value(samples, "feedsvc_aggregator_subscribers", aggregator="other") == sum(range(1, 30))
