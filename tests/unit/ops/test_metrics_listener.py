"""The /metrics listener on FEEDSVC_METRICS_BIND: /metrics and nothing else, never cached; a port
it cannot take stops start-up naming the setting."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from feedsvc.config import ConfigError
from feedsvc.ops.metrics_listener import MetricsListener, start_listener

from tests.helpers.app import services
from tests.helpers.metrics import parse, series, value

BODY = b"# a scrape\nfeedsvc_up 1\n"


def expose(accept: str | None) -> tuple[bytes, str]:
    if accept == "boom":
        raise RuntimeError("the scrape broke")
    return BODY, f"text/plain; accept={accept or '-'}"


@pytest.fixture
def listener() -> Iterator[str]:
    started = start_listener(("127.0.0.1", 0), expose)
    assert started is not None
    host, port = started.address
    try:
        yield f"http://{host}:{port}"
    finally:
        started.stop()


def test_metrics_and_nothing_else(listener: str) -> None:
    got = requests.get(f"{listener}/metrics", headers={"Accept": "x/y"}, timeout=5)
    assert (got.status_code, got.content) == (200, BODY)
    assert got.headers["Content-Type"] == "text/plain; accept=x/y"
    assert got.headers["Cache-Control"] == "no-store"
    head = requests.head(f"{listener}/metrics?x=1", timeout=5)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == str(len(BODY))
    for path in ("/", "/metrics/", "/healthz", "/feeds/all.rss", "/metricsx"):
        missing = requests.get(listener + path, timeout=5)
        assert (missing.status_code, missing.headers["Cache-Control"]) == (404, "no-store"), path
    assert requests.post(f"{listener}/metrics", timeout=5).status_code == 501


def test_a_failed_scrape_is_a_500_and_a_log_line(
    listener: str, caplog: pytest.LogCaptureFixture
) -> None:
    got = requests.get(f"{listener}/metrics", headers={"Accept": "boom"}, timeout=5)
    assert got.status_code == 500 and b"broke" not in got.content
    assert "the scrape failed" in caplog.text and "the scrape broke" in caplog.text


def test_a_port_in_use_names_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"FEEDSVC_METRICS_BIND=127.0.0.1:{port}"):
            MetricsListener(("127.0.0.1", port), expose)


def test_unset_means_no_listener() -> None:
    assert start_listener(None, expose) is None


def test_a_process_that_serves_nothing_reports_no_worker_gauge(newsroom: Flask) -> None:
    # The scheduler's listener: this process never answered a request, so it is no worker.
    metrics = services(newsroom).metrics
    assert not metrics.flusher.running
    samples = parse(metrics.exposition(None)[0].decode())
    assert series(samples, "feedsvc_worker_snapshots") == []
    assert value(samples, "feedsvc_regeneration_runs_total") == 1
