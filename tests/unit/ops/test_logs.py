"""Logs (issue 6): one line per event, JSON when FEEDSVC_LOG_FORMAT=json, no token in any line,
and requests logged one by one only with FEEDSVC_ACCESS_LOG=on."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.clock import FrozenClock
from feedsvc.ops.logs import RedactingFilter, make_formatter
from feedsvc.publish.regenerate import Regenerator
from feedsvc.publish.registry import SnapshotRegistry
from feedsvc.publish.scheduler import LEASE_SECONDS, RegenerationScheduler
from feedsvc.store.db import Database

from tests.helpers.app import NEWSROOM, article, load, log_lines, services

TOKEN = "test-token-1"  # a real token of the app fixture


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


# --- format and redaction -----------------------------------------------------------------------

SECRETS = [
    ("GET /feeds/thoi-su.rss?access_token=SECRET-1 200", "SECRET-1"),
    ("Authorization: Bearer SECRET-2", "SECRET-2"),
    ("form body access_token=SECRET-3&title=x", "SECRET-3"),
    ("subscribe hub.secret=SECRET-4", "SECRET-4"),
    ("line one\nline two Bearer SECRET-5", "SECRET-5"),
]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(("message", "secret"), SECRETS)
def test_one_line_per_event_and_no_secret(fmt: str, message: str, secret: str) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(make_formatter(fmt))
    logger = logging.getLogger(f"feedsvc.test.redact.{fmt}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("%s", message)
    finally:
        logger.removeHandler(handler)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    assert secret not in lines[0]
    if fmt == "json":
        record = json.loads(lines[0])
        assert record["level"] == "warning"
        assert record["logger"] == logger.name
        assert "[redacted]" in record["message"]


def test_a_traceback_is_redacted_too() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(make_formatter("json"))
    logger = logging.getLogger("feedsvc.test.traceback")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise RuntimeError("fetching https://hub.example/?hub.secret=SECRET-6 failed")
    except RuntimeError:
        logger.exception("delivery failed")
    finally:
        logger.removeHandler(handler)
    (line,) = buffer.getvalue().splitlines()
    record = json.loads(line)
    assert "RuntimeError" in record["exception"]
    assert "SECRET-6" not in line


@pytest.mark.parametrize(
    "settings_overrides", [{"FEEDSVC_LOG_FORMAT": "json", "FEEDSVC_ACCESS_LOG": "on"}]
)
def test_json_logs_of_a_running_app(
    newsroom: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the level create_app sets, whatever tests ran before
    newsroom.config["PROPAGATE_EXCEPTIONS"] = False

    @newsroom.get("/boom")
    def boom() -> str:
        raise RuntimeError("upstream https://cms.example/x?access_token=SECRET-7 broke")

    requests = [
        ("GET", "/feeds/thoi-su.rss?access_token=SECRET-8", {}, {200}),
        ("GET", "/api/v1/articles/a1", {"Authorization": f"Bearer {TOKEN}"}, {200}),
        ("GET", "/api/v1/articles/a1?access_token=SECRET-9", {}, {400, 401}),
        ("PUT", "/api/v1/articles/a1", {"Authorization": "Bearer SECRET-10"}, {401}),
        ("GET", "/boom?token=SECRET-11", {}, {500}),
    ]
    statuses = []
    with log_lines() as buffer:
        for method, path, headers, expected in requests:
            # The line is written once the server has the body (or closes the response).
            with client.open(path, method=method, headers=headers) as response:
                status = response.status_code
            assert status in expected
            statuses.append(str(status))
    text = buffer.getvalue()
    records = [json.loads(line) for line in text.splitlines()]

    for secret in ("SECRET", TOKEN):
        assert secret not in text
    access = [r for r in records if r["logger"] == "feedsvc.access"]
    assert [r["message"].split()[:3] for r in access] == [
        ["GET", "/feeds/thoi-su.rss?[redacted]", statuses[0]],
        ["GET", "/api/v1/articles/a1", statuses[1]],
        ["GET", "/api/v1/articles/a1?[redacted]", statuses[2]],
        ["PUT", "/api/v1/articles/a1", statuses[3]],
        ["GET", "/boom?[redacted]", statuses[4]],
    ]
    (failure,) = [r for r in records if "exception" in r]
    assert failure["level"] == "error"
    assert "RuntimeError" in failure["exception"]


def test_requests_are_not_logged_by_default(
    newsroom: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert client.get("/feeds/thoi-su.rss").status_code == 200
    assert client.get("/").status_code == 200
    assert messages(caplog, "feedsvc.access") == []
    # make run's werkzeug server logs a line per request at INFO: kept quiet.
    assert logging.getLogger("werkzeug").getEffectiveLevel() >= logging.WARNING


# --- events -------------------------------------------------------------------------------------


def test_a_regeneration_run_logs_one_line(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    load(app, NEWSROOM, [article("a1", "thoi-su")])
    scheduler = RegenerationScheduler(services(app).regenerator, 60)
    try:
        scheduler.watch()
        scheduler.watch()  # nothing changed: nothing to say
    finally:
        scheduler.shutdown()
    lines = messages(caplog, "feedsvc.publish.scheduler")
    assert len(lines) == 2, lines
    assert lines[0].endswith("now regenerates")
    assert lines[1].startswith("regenerate (change): rendered all,")


def test_lease_changes_log_one_line_each(
    app: Flask, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = RegenerationScheduler(services(app).regenerator, 60)
    second = RegenerationScheduler(services(app).regenerator, 60)
    try:
        first.watch()
        clock.advance(LEASE_SECONDS + 1)  # the first process stalls; its lease runs out
        second.watch()
        first.watch()
        first.watch()
    finally:
        second.shutdown()
        first.shutdown()
    lines = messages(caplog, "feedsvc.publish.scheduler")
    assert [line for line in lines if not line.startswith("regenerate (")] == [
        f"scheduler: {first.holder} now regenerates",
        f"scheduler: {second.holder} now regenerates",
        f"scheduler: {first.holder} lost the lease to another process",
    ]


def test_a_database_outage_logs_one_line_and_one_on_recovery(
    app: Flask, tmp_path: Path, sqlite_template: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "outage.db"
    path.mkdir()  # SQLite cannot open a directory: the database is "down"
    db = Database(f"sqlite:///{path}")
    registry = SnapshotRegistry()
    s = services(app)
    scheduler = RegenerationScheduler(Regenerator(db, s.settings, s.clock), 60)
    try:
        for _ in range(5):
            registry.poll(db)
            scheduler.watch()
        path.rmdir()
        shutil.copy(sqlite_template, path)  # the database comes back
        for _ in range(3):
            registry.poll(db)
            scheduler.watch()
    finally:
        scheduler.shutdown()
        db.dispose()
    watcher = messages(caplog, "feedsvc.publish.registry")
    assert len(watcher) == 2, watcher
    assert watcher[0].startswith("snapshots: database unavailable")
    assert watcher[1] == "snapshots: database reachable again"
    lines = messages(caplog, "feedsvc.publish.scheduler")
    assert len(lines) == 4, lines
    assert lines[0].startswith("scheduler: database unreachable, not regenerating: ")
    assert lines[1] == "scheduler: database reachable again"
    assert lines[2].endswith("now regenerates")
    assert lines[3].startswith("regenerate (change): rendered all")  # the work left undone
