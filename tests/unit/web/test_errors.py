"""Errors are never cached (issue 6): every 4xx and 5xx carries Cache-Control: no-store
(RFC 9111 §5.2.2.5), every 5xx a Retry-After (RFC 9110 §10.2.3); JSON under /api/, text
elsewhere."""

from __future__ import annotations

import json

import pytest
from flask import Flask, Response, abort
from flask.testing import FlaskClient
from werkzeug.test import TestResponse


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with routes that fail on purpose; exceptions become 500s as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def crash() -> str:
        raise RuntimeError("a bug")

    def unavailable() -> str:
        abort(503)

    def own_retry_after() -> Response:
        return Response("busy\n", 503, {"Retry-After": "1"}, mimetype="text/plain")

    def cacheable_error() -> Response:
        return Response("gone\n", status=410, headers={"Cache-Control": "public, max-age=600"})

    app.add_url_rule("/boom", view_func=crash)
    app.add_url_rule("/api/boom", endpoint="api_crash", view_func=crash)
    app.add_url_rule("/unavailable", view_func=unavailable)
    app.add_url_rule("/own-retry-after", view_func=own_retry_after)
    app.add_url_rule("/cacheable-error", view_func=cacheable_error)
    return app


def assert_not_cached(response: TestResponse, retry_after: str | None) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("Retry-After") == retry_after


@pytest.mark.parametrize(
    ("path", "status", "mimetype", "retry_after"),
    [
        ("/boom", 500, "text/plain", "5"),
        ("/api/boom", 500, "application/json", "5"),
        ("/unavailable", 503, "text/plain", "5"),
        ("/own-retry-after", 503, "text/plain", "1"),
    ],
)
def test_every_5xx_has_no_store_and_retry_after(
    failing_app: Flask, path: str, status: int, mimetype: str, retry_after: str
) -> None:
    response = failing_app.test_client().get(path)
    assert response.status_code == status
    assert response.mimetype == mimetype
    assert_not_cached(response, retry_after)
    if mimetype == "application/json":
        body = json.loads(response.get_data(as_text=True))
        assert body == {"error": "500 Internal Server Error", "details": []}
    elif path == "/boom":
        assert response.get_data(as_text=True) == "500 Internal Server Error\n"  # no internals


def test_a_4xx_is_never_cacheable(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/cacheable-error")
    assert response.status_code == 410
    assert_not_cached(response, None)


@pytest.mark.parametrize(
    ("method", "path", "status", "mimetype"),
    [
        ("GET", "/no-such-page", 404, "text/plain"),
        ("POST", "/", 405, "text/plain"),
        ("GET", "/api", 404, "application/json"),
        ("GET", "/api/v2/articles/a1", 404, "application/json"),
        ("GET", "/api/v1/articles/a1", 401, "application/json"),
        ("GET", "/feeds/no-such-category.rss", 404, "text/plain"),
        ("DELETE", "/feeds/no-such-category.atom", 404, "text/plain"),
    ],
)
def test_every_4xx_has_no_store(
    client: FlaskClient, method: str, path: str, status: int, mimetype: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == mimetype
    assert_not_cached(response, None)
    if status == 405:
        assert "GET" in response.headers["Allow"]
    if mimetype == "application/json":
        assert json.loads(response.get_data(as_text=True))["error"]


@pytest.mark.parametrize("path", ["/", "/feeds.opml", "/healthz", "/api/v1/articles/a1"])
def test_database_unreachable_is_503_with_retry_after(unreachable_app: Flask, path: str) -> None:
    client = unreachable_app.test_client()
    response = client.get(path, headers={"Authorization": "Bearer test-token-1"})
    assert response.status_code == 503
    assert_not_cached(response, "5")
