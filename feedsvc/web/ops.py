"""For operators: ``/livez`` and ``/readyz`` (``/healthz`` is in :mod:`feedsvc.web.pages`),
``/metrics`` behind FEEDSVC_METRICS_TOKEN, the app-wide error handlers, and the optional access
log.

The handlers answer through :mod:`feedsvc.web.errors` (never cached; JSON under ``/api/``, text
elsewhere). The feed hot path sends its own errors before Flask is reached.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from feedsvc import current_services
from feedsvc.http import client as http_client
from feedsvc.http.client import TrustedProxies
from feedsvc.store.db import DB_UNAVAILABLE
from feedsvc.web.auth import authenticate, challenge
from feedsvc.web.errors import (
    NO_STORE,
    RETRY_LATER,
    app_error,
    database_unavailable,
    not_cached,
)

bp = Blueprint("ops", __name__)
# Registered only when FEEDSVC_METRICS_TOKEN is set: otherwise the public listener has no
# /metrics at all (a 404 like any unknown path); FEEDSVC_METRICS_BIND serves it elsewhere.
metrics_bp = Blueprint("metrics", __name__)

log = logging.getLogger(__name__)
access_log = logging.getLogger("feedsvc.access")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# --- liveness and readiness -------------------------------------------------------------------


@bp.get("/livez")
def livez() -> tuple[dict[str, str], int, dict[str, str]]:
    """The process answers: 200 whatever the database's state (restart only what does not)."""
    return {"status": "ok"}, 200, {"Cache-Control": NO_STORE}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int, dict[str, str]]:
    """Whether this worker can serve feeds: 503 until its first load of the snapshots; then
    200, ``"degraded"`` while the database is unreachable and feeds come from memory (a load
    balancer keeps the instance: it still serves every feed it holds). Reads only what the
    snapshot watcher recorded (it polls every 0.1 s): no query, no detail of the outage, which
    the watcher logs."""
    registry = current_services().registry
    headers = {"Cache-Control": NO_STORE}
    if registry.seen_counter < 0:
        return {"status": "loading"}, 503, {**headers, **RETRY_LATER}
    if not registry.db_ok:
        return {"status": "degraded", "database": "unreachable"}, 200, headers
    return {"status": "ready", "database": "ok"}, 200, headers


@metrics_bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format (or OpenMetrics when the scraper asks for it), for the bearer of
    FEEDSVC_METRICS_TOKEN only."""
    services = current_services()
    token = services.settings.metrics_token
    failure = _metrics_credentials(request.headers.get("Authorization"), token)
    if failure is not None:
        # The reason only: never the header, whose value may be a real token.
        log.info("metrics: refused: %s", failure)
        return app_error(401, f"401 Unauthorized: {failure}", {"WWW-Authenticate": challenge()})
    body, content_type = services.metrics.exposition(request.headers.get("Accept"))
    return Response(body, content_type=content_type, headers={"Cache-Control": NO_STORE})


def _metrics_credentials(header: str | None, token: str | None) -> str | None:
    """Why ``header`` does not carry ``token`` as a bearer token, or None when it does: the
    ingest API's check (:func:`feedsvc.web.auth.authenticate`, constant time), in the words of
    this endpoint."""
    failure = authenticate(header, (token,) if token is not None else ())
    if failure is None:
        return None
    if failure.reason in ("malformed", "not accepted"):
        return "the bearer token is not FEEDSVC_METRICS_TOKEN"
    return "send FEEDSVC_METRICS_TOKEN as 'Authorization: Bearer TOKEN'"


# --- errors ------------------------------------------------------------------------------------


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    """Every HTTP error Flask raises (404, 405 with Allow, 413, the 500 of an unhandled
    exception, which Flask has already logged with its traceback)."""
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    message = f"{error.code} {error.name}"
    if error.description and error.description != type(error).description:
        message += f": {error.description}"  # abort(code, "what to fix") says more
    return app_error(error.code or 500, message, headers)


def unavailable(error: Exception) -> Response:
    """503 while the database is unreachable; the snapshot watcher logs the outage once."""
    log.debug("%s %s: database unavailable (%s)", request.method, request.path, type(error))
    return database_unavailable()


for _exc in DB_UNAVAILABLE:
    bp.app_errorhandler(_exc)(unavailable)

# no-store on every 4xx/5xx, Retry-After on every 5xx that does not name its own.
bp.after_app_request(not_cached)


# --- access log --------------------------------------------------------------------------------


# The fields of an access log line, in order: a stable list (docs/interface.md, "Access log"),
# read by whoever counts the audience from the log. JSON lines carry them as keys.
ACCESS_FIELDS = ("client", "method", "path", "status", "bytes", "duration_ms", "user_agent")
USER_AGENT_MAX = 256  # characters of a User-Agent kept (real ones are under 200)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f]')


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in ('"', "\\") else f"\\x{ord(char):02x}"


def escape_field(text: str, limit: int | None = None) -> str:
    """``text`` safe inside a quoted field of a text log line: backslash, quote and control
    characters escaped, cut at ``limit`` characters (``…`` marks a cut)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return _NEEDS_ESCAPE.sub(_escaped, text)


class AccessLog:
    """One log line per request when FEEDSVC_ACCESS_LOG=on (not installed otherwise), outside
    the feed hot path, so feeds are logged too.

    The line is written once the body has been handed to the server (or the server closed it
    early), so ``bytes`` are those of the body actually sent, and ``duration_ms`` runs until
    then. The client is the peer, or the address a trusted proxy names
    (FEEDSVC_TRUSTED_PROXIES, :mod:`feedsvc.http.client`).
    The query string is never logged, only marked: it may carry a token (docs/interface.md).
    """

    def __init__(self, app: WSGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        def done(sent: int) -> None:
            status = statuses[-1].split(" ", 1)[0] if statuses else "-"
            self._log(environ, status, sent, time.perf_counter() - started)

        try:
            body = self.app(environ, capture)
        except BaseException:
            done(0)  # the server answers 500 itself; the line still says who asked what
            raise
        return CountedBody(body, done)

    def _log(self, environ: dict[str, Any], status: str, sent: int, seconds: float) -> None:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?[redacted]"
        agent = str(environ.get("HTTP_USER_AGENT") or "")
        fields: dict[str, Any] = {
            "client": http_client.client_address(environ, self.trusted) or "-",
            "method": str(environ.get("REQUEST_METHOD", "-")),
            "path": path,
            "status": int(status) if status.isdigit() else None,
            "bytes": sent,
            "duration_ms": round(seconds * 1000, 1),
            "user_agent": agent[:USER_AGENT_MAX] if agent else None,
        }
        access_log.info(
            '%s %s %s %d bytes %.1f ms from %s "%s"',
            escape_field(fields["method"]),
            escape_field(path),
            status,
            sent,
            seconds * 1000,
            fields["client"],
            escape_field(agent, USER_AGENT_MAX) if agent else "-",
            extra={"fields": fields},
        )


class CountedBody:
    """A response body passed through as it is, counting its bytes; ``done(bytes)`` is called
    once: when the body has been read to its end, or when the server closes it before that (a
    client gone mid-body; PEP 3333: every server calls ``close``)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.body = body
        self.done: Callable[[int], None] | None = done
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk
        self._finish()

    def close(self) -> None:
        """Close the wrapped body, then log the request if that was not done yet."""
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()

    def _finish(self) -> None:
        done, self.done = self.done, None
        if done is not None:
            done(self.sent)
