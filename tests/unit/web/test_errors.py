"""Errors are never cached (issue 6): every 4xx and 5xx carries Cache-Control: no-store
(RFC 9111 §5.2.2.5), every 5xx a Retry-After (RFC 9110 §10.2.3); JSON under /api/, text
elsewhere. The app's answers first, then the writers of feedsvc.web.errors one by one."""

from __future__ import annotations

import json

import pytest
from flask import Flask, Response, abort
from flask.testing import FlaskClient
from werkzeug.wrappers import Response as AnyResponse

from feedsvc.web import errors


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


def assert_not_cached(response: AnyResponse, retry_after: str | None) -> None:
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


@pytest.mark.parametrize(
    "path", ["/", "/feeds.opml", "/healthz", "/api/v1/articles/a1", "/feeds/all.rss"]
)
def test_database_unreachable_is_503_with_retry_after(unreachable_app: Flask, path: str) -> None:
    client = unreachable_app.test_client()
    response = client.get(path, headers={"Authorization": "Bearer test-token-1"})
    assert response.status_code == 503
    assert_not_cached(response, "5")


# --- the writers of feedsvc.web.errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "is_api"),
    [
        ("/api", True),
        ("/api/", True),
        ("/api/v1/articles/a1", True),
        ("/apis", False),
        ("/", False),
    ],
)
def test_is_api_path(path: str, is_api: bool) -> None:
    assert errors.is_api_path(path) is is_api


def test_json_error_is_the_interfaces_body_private_to_its_caller() -> None:
    details = [{"field": "title", "message": "is required"}]
    response = errors.json_error(422, "the record breaks 1 rule", details, {"X-Extra": "1"})
    assert response.status_code == 422
    assert response.get_data() == (
        b'{"error": "the record breaks 1 rule", "details": '
        b'[{"field": "title", "message": "is required"}]}'
    )
    assert list(response.headers.items()) == [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(response.get_data()))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Extra", "1"),
    ]


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/api/v2", "application/json", b'{"error": "404 Not Found", "details": []}\n'),
        ("/nowhere", "text/plain; charset=utf-8", b"404 Not Found\n"),
    ],
)
def test_app_error_is_json_under_api_and_text_elsewhere(
    path: str, content_type: str, body: bytes
) -> None:
    with Flask(__name__).test_request_context(path):
        response = errors.app_error(404, "404 Not Found", {"Allow": "GET"})
    assert (response.status_code, response.content_type, response.get_data()) == (
        404,
        content_type,
        body,
    )
    assert response.headers["Allow"] == "GET"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_database_unavailable_says_retry_later() -> None:
    with Flask(__name__).test_request_context("/"):
        response = errors.not_cached(errors.database_unavailable())
    assert response.status_code == 503
    assert response.get_data() == b"503 Service Unavailable: database unavailable, retry later\n"
    assert_not_cached(response, "5")


@pytest.mark.parametrize(
    ("status", "cache_control", "retry_after"),
    [(200, None, None), (304, None, None), (404, "no-store", None), (500, "no-store", "5")],
)
def test_not_cached_marks_errors_only(
    status: int, cache_control: str | None, retry_after: str | None
) -> None:
    response = errors.not_cached(Response("x", status=status))
    assert response.headers.get("Cache-Control") == cache_control
    assert response.headers.get("Retry-After") == retry_after


def test_text_response_is_one_private_line() -> None:
    response = errors.text_response("send a form", 400, {"Allow": "POST"})
    assert response.get_data() == b"send a form\n"
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("status", "extra", "line", "tail"),
    [
        (400, (), "400 Bad Request", []),
        (404, (), "404 Not Found", []),
        (405, (("Allow", "GET, HEAD"),), "405 Method Not Allowed", [("Allow", "GET, HEAD")]),
        (503, (), "503 Service Unavailable", [("Retry-After", "5")]),
    ],
)
def test_wsgi_error_has_the_status_line_and_headers_of_the_hot_path(
    status: int, extra: tuple[tuple[str, str], ...], line: str, tail: list[tuple[str, str]]
) -> None:
    got_line, headers, body = errors.wsgi_error(status, "No such feed.\n", *extra)
    assert (got_line, body) == (line, b"No such feed.\n")
    assert headers == [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", "14"),
        ("Cache-Control", "no-store"),
        *tail,
    ]
