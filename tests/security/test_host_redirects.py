"""Issue 13, finding 10: ``GET /static//site.css`` with ``Host: evil.example`` was answered
``308 Location: http://evil.example/static/site.css`` (Werkzeug's merge_slashes redirect, built
from the request), which a shared cache may keep and serve to everyone. No URL is built from the
request: there are no such redirects, and a redirect a rule asks for names FEEDSVC_BASE_URL."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import TOKENS

BASE_URL = "http://feeds.test"  # the conftest app's FEEDSVC_BASE_URL
HOSTILE = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Prefix": "/evil",
    "Authorization": f"Bearer {TOKENS[0]}",
}
# Every shape of path that makes a router think of a redirect: doubled, missing and extra
# slashes, dot segments, under each part of the service.
PATHS = [
    "/static//site.css",
    "//static/site.css",
    "/static/site.css/",
    "/static",
    "/static/",
    "/static/demo",
    "/static/./site.css",
    "/static/../static/site.css",
    "//",
    "///",
    "//evil.example/",
    "/\\evil.example",
    "//feeds/thoi-su.rss",
    "/feeds//thoi-su.rss",
    "/feeds/thoi-su.rss/",
    "/feeds",
    "/feeds/",
    "//feeds.opml",
    "/feeds.opml/",
    "/healthz/",
    "//healthz",
    "/metrics/",
    "//metrics",
    "/api",
    "/api/",
    "/api/v1",
    "/api/v1/",
    "/api//v1/articles/a1",
    "/api/v1//articles/a1",
    "/api/v1/articles/a1/",
    "/api/v1/articles/",
    "/websub/",
    "//websub",
]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self"}  # /websub routed too


def test_no_location_names_another_host(newsroom: Flask, client: FlaskClient) -> None:
    wrong = []
    for method in ("GET", "HEAD", "POST", "OPTIONS"):
        for path in PATHS:
            # PATH_INFO exactly as sent: the test client would read "//x" as a host.
            response = client.open(
                "/", method=method, headers=HOSTILE, environ_overrides={"PATH_INFO": path}
            )
            body = response.get_data(as_text=True)
            response.close()  # a static file's handle
            location = response.headers.get("Location")
            if 300 <= response.status_code < 400 or location is not None or "evil" in body:
                wrong.append((method, path, response.status_code, location, body[:80]))
    assert wrong == []


def test_a_redirect_a_rule_asks_for_names_the_base_url(newsroom: Flask) -> None:
    # No rule of ours ends with a slash (but "/"); one that does gets a redirect from the
    # router when asked for without it: that redirect is built on FEEDSVC_BASE_URL.
    newsroom.add_url_rule("/section/", "section", lambda: "section")
    client = newsroom.test_client()
    response = client.get("/section?x=1", headers=HOSTILE)
    assert response.status_code == 308
    assert response.headers["Location"] == f"{BASE_URL}/section/?x=1"
