"""Issue 13, finding 5: ``/healthz`` printed the first line of the database exception, which names
the internal database host and port, to anyone. Public answers say "unreachable"; the log says
why."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from feedsvc import create_app

from tests.helpers.app import services

# A database nobody listens on: the driver's message names this host and port.
INTERNAL_HOST = "127.0.0.1"
INTERNAL_PORT = "1"
DATABASE_URL = f"postgresql://feedsvc@{INTERNAL_HOST}:{INTERNAL_PORT}/feedsvc"
# What the driver says, none of which any answer may carry.
INTERNAL_DETAIL = (INTERNAL_HOST, f"port {INTERNAL_PORT}", "Connection refused", "psycopg", "sql")
TOKEN = "health-test-token"


@pytest.fixture
def down_app() -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "FEEDSVC_DATABASE_URL": DATABASE_URL,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_API_TOKENS": TOKEN,
        }
    )
    yield app
    services(app).shutdown()


def test_healthz_says_unreachable_and_the_log_says_why(
    down_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="feedsvc.web.pages"):
        response = down_app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unreachable"
    assert body["status"] == "unhealthy"
    text = response.get_data(as_text=True)
    for detail in INTERNAL_DETAIL:
        assert detail.lower() not in text.lower(), f"/healthz reveals {detail!r}: {text}"
    logged = [r.getMessage() for r in caplog.records if r.name == "feedsvc.web.pages"]
    assert any(
        "database unreachable" in line and INTERNAL_HOST in line and "OperationalError" in line
        for line in logged
    ), logged


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/",
        "/feeds.opml",
        "/feeds/thoi-su.rss",
        "/feeds/thoi-su.html",
        "/api/v1/articles/a1",
        "/no-such-page",
    ],
)
def test_no_public_answer_names_the_database(down_app: Flask, path: str) -> None:
    response = down_app.test_client().get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code >= 400
    text = response.get_data(as_text=True)
    for detail in INTERNAL_DETAIL:
        assert detail.lower() not in text.lower(), f"{path} reveals {detail!r}: {text}"
