"""``/livez`` (the process answers) and ``/readyz`` (the snapshots are loaded; ``degraded`` while
the database is down and feeds come from memory), beside ``/healthz``: what each answers in each
state, and that none says more than its state (the reason is logged)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from feedsvc.store.db import Database

from tests.helpers.app import services


def _get(app: Flask, path: str) -> tuple[int, dict[str, object], dict[str, str]]:
    response = app.test_client().get(path)
    return response.status_code, response.get_json(), dict(response.headers)


def test_ready_once_the_snapshots_are_loaded(newsroom: Flask) -> None:
    status, body, headers = _get(newsroom, "/readyz")
    assert status == 200
    assert body == {"status": "ready", "database": "ok"}
    assert headers["Cache-Control"] == "no-store"
    status, body, headers = _get(newsroom, "/livez")
    assert (status, body, headers["Cache-Control"]) == (200, {"status": "ok"}, "no-store")


def test_degraded_while_the_database_is_down_and_feeds_still_served(
    newsroom: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = newsroom.test_client()
    assert client.get("/feeds/thoi-su.rss").status_code == 200  # loaded
    s = services(newsroom)
    s.watcher.stop()  # this test polls by hand, against a database that cannot be opened
    down_path = tmp_path / "gone.db"
    down_path.mkdir()
    down = Database(f"sqlite:///{down_path}")
    with caplog.at_level(logging.WARNING, logger="feedsvc.publish.registry"):
        s.registry.poll(down)
    down.dispose()
    status, body, _ = _get(newsroom, "/readyz")
    # The load balancer keeps this instance: it serves every feed it holds.
    assert status == 200
    assert body == {"status": "degraded", "database": "unreachable"}
    assert client.get("/feeds/thoi-su.rss").status_code == 200
    assert _get(newsroom, "/livez")[0] == 200
    # Why is in the log, never in the answer.
    assert any("database unavailable" in r.getMessage() for r in caplog.records)
    text = client.get("/readyz").get_data(as_text=True)
    assert str(down_path) not in text and "sqlite" not in text.lower()
    s.registry.poll(s.db)  # back
    assert _get(newsroom, "/readyz")[1] == {"status": "ready", "database": "ok"}


def test_not_ready_before_the_first_load(unreachable_app: Flask) -> None:
    status, body, headers = _get(unreachable_app, "/readyz")
    assert status == 503
    assert body == {"status": "loading"}
    assert headers["Retry-After"] == "5" and headers["Cache-Control"] == "no-store"
    # Alive all the same: restarting the process would not bring the database back.
    status, body, _ = _get(unreachable_app, "/livez")
    assert (status, body) == (200, {"status": "ok"})
    assert _get(unreachable_app, "/healthz")[0] == 503  # unchanged: the database is down


def test_livez_answers_before_the_first_load_is_tried(unreachable_app: Flask) -> None:
    """/livez never waits for the database: it does not start the watcher's first load."""
    assert _get(unreachable_app, "/livez")[0] == 200
    assert services(unreachable_app).registry.seen_counter < 0
    assert not services(unreachable_app).watcher.running


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_only_get_and_head(newsroom: Flask, path: str) -> None:
    client = newsroom.test_client()
    assert client.head(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
