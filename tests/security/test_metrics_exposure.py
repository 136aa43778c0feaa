"""Issue 13, finding 12: ``/metrics`` (and ``//metrics``) answered 200 on the app's own public
listener; only the shipped nginx hid it. It is now served on an address of its own
(FEEDSVC_METRICS_BIND, by the scheduler process), and on the public listener only to the bearer
of FEEDSVC_METRICS_TOKEN: by default it is not there at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from feedsvc import create_app

from tests.helpers.app import services

TOKEN = "metrics-scraper-token-1"
# Every spelling of the path a router might take for /metrics.
PATHS = ["/metrics", "//metrics", "/metrics/", "///metrics", "/metrics?format=prometheus"]
ACCEPTS = [None, "application/openmetrics-text; version=1.0.0", "text/plain", "*/*"]


def public_get(app: Flask, path: str, headers: dict[str, str]) -> tuple[int, str]:
    path_info, _, query = path.partition("?")
    response = app.test_client().get(
        "/", headers=headers, environ_overrides={"PATH_INFO": path_info, "QUERY_STRING": query}
    )
    return response.status_code, response.get_data(as_text=True)


def test_not_on_the_public_listener_by_default(newsroom: Flask) -> None:
    for path in PATHS:
        for accept in ACCEPTS:
            headers = {"Accept": accept} if accept else {}
            status, body = public_get(newsroom, path, headers)
            assert status == 404, (path, accept, status)
            assert "feedsvc_" not in body, (path, accept)
        # A token does not open what is not there.
        status, _ = public_get(newsroom, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 404, path


@pytest.fixture
def token_app(newsroom: Flask) -> Iterator[Flask]:
    """Another worker on the same database, with FEEDSVC_METRICS_TOKEN set."""
    s = services(newsroom)
    app = create_app(
        {
            "TESTING": True,
            "CLOCK": s.clock,
            "FEEDSVC_DATABASE_URL": s.settings.database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_METRICS_TOKEN": TOKEN,
        }
    )
    yield app
    services(app).shutdown()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {TOKEN}",
        "Bearer metrics-scraper-token-2",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer tết",
        f"Bearer {TOKEN}, Bearer {TOKEN}",
    ],
)
def test_behind_a_token_only_its_bearer_scrapes(
    token_app: Flask, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, body = public_get(token_app, "/metrics", headers)
    assert status == 401
    assert "feedsvc_" not in body and TOKEN not in body
    # The reason: no bearer token at all, or one that is not this one.
    presented = (authorization or "").partition(" ")[2].strip()
    wrong = authorization is not None and authorization.startswith("Bearer") and presented
    reason = "is not FEEDSVC_METRICS_TOKEN" if wrong else "send FEEDSVC_METRICS_TOKEN as"
    assert reason in body


def test_the_bearer_of_the_token_scrapes(token_app: Flask) -> None:
    for path in ("/metrics", "//metrics"):  # Werkzeug matches //x as /x: a match, no redirect
        status, body = public_get(token_app, path, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "feedsvc_articles_stored 3.0" in body, path


def test_on_its_own_address(newsroom: Flask) -> None:
    from feedsvc.ops.metrics_listener import start_listener  # (new with the fix)

    listener = start_listener(("127.0.0.1", 0), services(newsroom).metrics.exposition)
    assert listener is not None
    host, port = listener.address
    try:
        got = requests.get(f"http://{host}:{port}/metrics", timeout=5)
        assert got.status_code == 200 and "feedsvc_articles_stored 3.0" in got.text
        for path in ("/", "/feeds/thoi-su.rss", "/healthz", "/api/v1/articles/a1"):
            assert requests.get(f"http://{host}:{port}{path}", timeout=5).status_code == 404
    finally:
        listener.stop()
