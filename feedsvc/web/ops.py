"""For operators: ``/metrics``, the app-wide error responses, and the optional access log.

Errors are never cached (issue 6): every 4xx and 5xx Flask sends carries
``Cache-Control: no-store`` (RFC 9111 §5.2.2.5), and every 5xx a ``Retry-After`` (RFC 9110
§10.2.3). Error bodies are JSON under ``/api/`` (the ingest API's shape) and short text elsewhere.
The feed hot path sends its own 400/404/405 with no-store before Flask is reached.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from feedsvc.services import Services

bp = Blueprint("ops", __name__)

log = logging.getLogger(__name__)
access_log = logging.getLogger("feedsvc.access")

RETRY_AFTER_SECONDS = "5"
NO_STORE = "no-store"
DB_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _services() -> Services:
    return current_app.extensions["feedsvc"]  # type: ignore[no-any-return]


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format (or OpenMetrics when the scraper asks for it)."""
    body, content_type = _services().metrics.exposition(request.headers.get("Accept"))
    return Response(body, content_type=content_type, headers={"Cache-Control": NO_STORE})


# --- errors ------------------------------------------------------------------------------------


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """JSON ``{"error", "details"}`` under /api/ (as the ingest API answers), else short text."""
    if request.path == "/api" or request.path.startswith("/api/"):
        body = json.dumps({"error": message, "details": []}, ensure_ascii=False) + "\n"
        content_type = "application/json"
    else:
        body = f"{message}\n"
        content_type = "text/plain; charset=utf-8"
    response = Response(body, status=status, content_type=content_type)
    response.headers.update(headers or {})
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """Every HTTP error Flask raises (404, 405 with Allow, 413, the 500 of an unhandled
    exception, which Flask has already logged with its traceback)."""
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    message = f"{error.code} {error.name}"
    if error.description and error.description != type(error).description:
        message += f": {error.description}"  # abort(code, "what to fix") says more
    return error_response(error.code or 500, message, headers)


def database_unavailable(error: Exception) -> Response:
    """503 while the database is unreachable; the snapshot watcher logs the outage once."""
    log.debug("%s %s: database unavailable (%s)", request.method, request.path, type(error))
    return error_response(503, "503 Service Unavailable: database unavailable, retry later")


for _exc in DB_UNAVAILABLE:
    bp.app_errorhandler(_exc)(database_unavailable)


@bp.after_app_request
def errors_are_not_cached(response: Response) -> Response:
    """no-store on every 4xx/5xx, Retry-After on every 5xx that does not name its own."""
    if response.status_code >= 400:
        response.headers["Cache-Control"] = NO_STORE
        if response.status_code >= 500 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


# --- access log --------------------------------------------------------------------------------


class AccessLog:
    """One log line per request when FEEDSVC_ACCESS_LOG=on (not installed otherwise).

    The query string is never logged, only marked: it may carry a token (INTERFACE.md).
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, capture)
        finally:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            if environ.get("QUERY_STRING"):
                path += "?[redacted]"
            access_log.info(
                "%s %s %s %.1f ms",
                environ.get("REQUEST_METHOD", "-"),
                path,
                statuses[-1].split(" ", 1)[0] if statuses else "-",
                (time.perf_counter() - started) * 1000,
            )
