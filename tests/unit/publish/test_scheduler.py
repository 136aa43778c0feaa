"""The scheduler under a burst of writes (issue 14, problem 9): a watch tick that finds the
previous one still running is skipped quietly (a debug line), not with APScheduler's warning."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask

from feedsvc.publish.regenerate import RunResult
from feedsvc.publish.scheduler import RegenerationScheduler, SkippedWatchTick

from tests.helpers.app import NEWSROOM, article, load, services

SKIPPED = "maximum number of running instances"


def _burst(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler whose runs take 0.3 s, ticking every 0.02 s, woken by 10 quick writes."""
    s = services(app)
    real_run = s.regenerator.run

    def slow_run(*args: Any, **kwargs: Any) -> RunResult:
        time.sleep(0.3)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(s.regenerator, "run", slow_run)
    scheduler = RegenerationScheduler(s.regenerator, 3600, watch_seconds=0.02)
    scheduler.start()
    try:
        for n in range(10):
            load(app, [], [article(f"burst-{n}", "thoi-su")])
            scheduler.wake()  # what the API does after each write
            time.sleep(0.05)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _published(app, "burst-9"):
            time.sleep(0.05)
        assert _published(app, "burst-9"), "the burst never reached the feed"
    finally:
        scheduler.shutdown()


def _published(app: Flask, article_id: str) -> bool:
    """Whether /feeds/thoi-su.json lists the article (this process installs what it renders)."""
    response = app.test_client().get("/feeds/thoi-su.json")
    if response.status_code != 200:
        return False
    return any(i["id"].endswith(f"/{article_id}") for i in response.get_json()["items"])


def test_a_burst_logs_no_warning(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    load(app, NEWSROOM, [])
    caplog.set_level(logging.DEBUG, logger="apscheduler")
    caplog.set_level(logging.DEBUG, logger="feedsvc")
    _burst(app, monkeypatch)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]
    skipped = [r for r in caplog.records if "watch tick skipped" in r.getMessage()]
    assert skipped, "the burst skipped no tick: the test did not exercise the overlap"
    assert {(r.name, r.levelno) for r in skipped} == {("feedsvc.publish.scheduler", logging.DEBUG)}
    assert not [r for r in caplog.records if SKIPPED in r.getMessage()]


def test_the_sweep_still_warns() -> None:
    """Only the watch job's skipped ticks are quietened: an overrun sweep is worth a warning."""

    class Job:
        def __init__(self, job_id: str) -> None:
            self.id = job_id

    quiet = SkippedWatchTick()

    def record(job_id: str) -> logging.LogRecord:
        return logging.LogRecord(
            "apscheduler.scheduler",
            logging.WARNING,
            __file__,
            1,
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            (Job(job_id), 1),
            None,
        )

    assert quiet.filter(record("watch")) is False
    assert quiet.filter(record("sweep")) is True
    other = logging.LogRecord("apscheduler.scheduler", logging.INFO, __file__, 1, "x", (), None)
    assert quiet.filter(other) is True
