"""Every error response of the web layer, and the constants they share, written once.

Errors are never cached: each carries ``Cache-Control: no-store`` (RFC 9111 §5.2.2.5) and each
5xx a ``Retry-After`` (RFC 9110 §10.2.3). Under ``/api/`` the body is the ingest API's JSON
``{"error": …, "details": […]}``; elsewhere it is one line of text. One writer per way a response
leaves the service: the ingest API's views (:func:`json_error`), Flask's app-wide error handlers
(:func:`app_error`, completed by :func:`not_cached` after every request), the feed hot path's
bare WSGI (:func:`wsgi_error`) and the WebSub endpoint's text answers (:func:`text_response`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from flask import Response, request

RETRY_AFTER_SECONDS = "5"  # what a client waits before retrying a 5xx
NO_STORE = "no-store"
NOSNIFF = "nosniff"  # no browser guesses a type other than the one we send
TEXT_TYPE = "text/plain; charset=utf-8"
JSON_TYPE = "application/json"
DB_UNAVAILABLE_MESSAGE = "database unavailable, retry later"

# Every API answer is private to its caller and changes with every write (RFC 9111 §5.2.2.5).
PRIVATE: Mapping[str, str] = {"Cache-Control": NO_STORE, "X-Content-Type-Options": NOSNIFF}
RETRY_LATER: Mapping[str, str] = {"Retry-After": RETRY_AFTER_SECONDS}

WSGIHeaders = list[tuple[str, str]]


def is_api_path(path: str) -> bool:
    """Whether ``path`` is under ``/api``, where errors are JSON."""
    return path == "/api" or path.startswith("/api/")


def error_payload(message: str, details: Iterable[Mapping[str, str]] = ()) -> dict[str, object]:
    """The interface's error object: what is wrong, and per-field details."""
    return {"error": message, "details": list(details)}


def json_response(
    payload: object, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response no cache keeps: every ingest API answer, error or not."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = Response(body, status=status, content_type=JSON_TYPE)
    response.headers.update({**PRIVATE, **(headers or {})})
    return response


def json_error(
    status: int,
    message: str,
    details: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An ingest API error: ``{"error", "details"}``, private, with any extra headers."""
    return json_response(error_payload(message, details), status, headers)


def app_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An error Flask answers outside the ingest API's views: JSON under /api/, else text.

    The line ends with a newline (a terminal shows it cleanly); :func:`not_cached` adds
    no-store and Retry-After after the request.
    """
    if is_api_path(request.path):
        body = json.dumps(error_payload(message), ensure_ascii=False) + "\n"
        content_type = JSON_TYPE
    else:
        body = f"{message}\n"
        content_type = TEXT_TYPE
    response = Response(body, status=status, content_type=content_type)
    response.headers.update(headers or {})
    response.headers["X-Content-Type-Options"] = NOSNIFF
    return response


def database_unavailable() -> Response:
    """The app-wide 503 while the database cannot be reached."""
    return app_error(503, f"503 Service Unavailable: {DB_UNAVAILABLE_MESSAGE}")


def not_cached(response: Response) -> Response:
    """no-store on every 4xx/5xx, Retry-After on every 5xx that does not name its own."""
    if response.status_code >= 400:
        response.headers["Cache-Control"] = NO_STORE
        if response.status_code >= 500 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def text_response(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A line of text, private to its caller (WebSub answers, errors or not)."""
    return Response(
        message + "\n",
        status=status,
        content_type=TEXT_TYPE,
        headers={**PRIVATE, **(headers or {})},
    )


def wsgi_error(status: int, text: str, *extra: tuple[str, str]) -> tuple[str, WSGIHeaders, bytes]:
    """A hot-path error for bare WSGI: the status line, the headers that follow Date (type,
    length, no-store, ``extra``, Retry-After on a 5xx) and the body."""
    body = text.encode()
    headers = [
        ("Content-Type", TEXT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", NO_STORE),
        *extra,
    ]
    if status >= 500:
        headers.append(("Retry-After", RETRY_AFTER_SECONDS))
    return f"{status} {HTTPStatus(status).phrase}", headers, body
