"""The guard in front of every request under /api/v1 (credentials first, then routing, query
strings and conditions), and the API's error handlers: every failure is a JSON error.
"""

from __future__ import annotations

from flask import Response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from feedsvc import current_services
from feedsvc.ingest.records import RecordError
from feedsvc.store.db import DB_UNAVAILABLE
from feedsvc.web import listing
from feedsvc.web.api.base import ApiError, bp, log
from feedsvc.web.auth import authenticate, challenge, misplaced_credentials
from feedsvc.web.errors import DB_UNAVAILABLE_MESSAGE, RETRY_LATER, json_error
from feedsvc.web.preconditions import MalformedCondition

# Two requests racing to create one record: the loser can retry at once.
CONFLICT_RETRY_AFTER = {"Retry-After": "1"}


# --- the guard: every request under /api/v1, routed or not -------------------------------------


def _is_api_path(path: str) -> bool:
    prefix = bp.url_prefix or ""
    return path == prefix or path.startswith(prefix + "/")


@bp.before_app_request
def guard() -> Response | None:
    """Refuse misplaced or missing credentials, then unknown routes and methods, as JSON.

    An app-wide hook, because routing errors under /api/v1 never reach the blueprint's own
    handlers. It runs before any view, so authentication comes before the body is read.
    """
    if not _is_api_path(request.path):
        return None
    error = _credentials_error() or _request_error()
    return error.response() if error is not None else None


# The one path anyone may call: the API's description holds no secret (another method gets 405).
PUBLIC_PATHS = frozenset({f"{bp.url_prefix}/openapi.json"})
# The calls that take query parameters: the list of articles (filters, pages).
QUERY_ENDPOINTS = frozenset({"api.list_articles"})
# The writes that take If-Match / If-None-Match: one article's (it has an ETag). A read that
# does not use them ignores them: a full answer is never wrong.
CONDITIONAL_ENDPOINTS = frozenset({"api.put_article", "api.delete_article"})


def _credentials_error() -> ApiError | None:
    """401 (or 400) unless the Authorization header, and only it, carries a valid token."""
    header = request.headers.get("Authorization")
    misplaced = misplaced_credentials(request.query_string, request.mimetype)
    if misplaced is not None:
        log.info("api: %s %s refused: token outside the header", request.method, request.path)
        if header:  # RFC 6750 §3.1: more than one way of sending a token is invalid_request
            return _unauthorised(400, misplaced, challenge("invalid_request"))
        return _unauthorised(401, misplaced, challenge())
    if request.path in PUBLIC_PATHS:
        return None  # a token sent anyway is neither needed nor checked
    failure = authenticate(header, current_services().settings.api_tokens)
    if failure is None:
        return None
    # The reason only: never the header, whose value may be a real token.
    log.info("api: %s %s refused: 401 %s", request.method, request.path, failure.reason)
    return _unauthorised(401, failure.message, failure.challenge)


def _request_error() -> ApiError | None:
    """404/405 for what no endpoint answers, then 400 for a query string or a condition the
    call does not take."""
    routing = request.routing_exception
    if isinstance(routing, MethodNotAllowed):
        allowed = ", ".join(sorted(routing.valid_methods or ()))
        message = f"{request.method} is not allowed here; use {allowed}"
        return ApiError(405, message, headers={"Allow": allowed})
    if isinstance(routing, NotFound):
        return ApiError(404, f"no API endpoint at {request.path}")
    if request.query_string and request.endpoint not in QUERY_ENDPOINTS:
        # None is defined here, and a token may hide under any name: refuse rather than ignore.
        return ApiError(
            400,
            "this call takes no query parameters; remove everything from '?' (only GET "
            "/api/v1/articles takes any)",
        )
    conditional = request.headers.get("If-Match") or request.headers.get("If-None-Match")
    unsafe = request.method not in ("GET", "HEAD")
    if conditional and unsafe and request.endpoint not in CONDITIONAL_ENDPOINTS:
        # Ignored, a condition would let a write the client meant to be conditional go through.
        return ApiError(
            400,
            "this call takes no If-Match or If-None-Match: only one article has an ETag; send "
            "conditional writes one by one with PUT or DELETE /api/v1/articles/ID",
        )
    return None


def _unauthorised(status: int, message: str, www_authenticate: str) -> ApiError:
    return ApiError(status, message, headers={"WWW-Authenticate": www_authenticate})


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error.response()


@bp.errorhandler(MalformedCondition)
def _malformed_condition(error: MalformedCondition) -> Response:
    return ApiError(400, str(error)).response()


@bp.errorhandler(listing.QueryError)
def _query_error(error: listing.QueryError) -> Response:
    return ApiError(400, str(error), error.details).response()


@bp.errorhandler(RecordError)
def _record_error(error: RecordError) -> Response:
    count = len(error.errors)
    message = f"the record breaks {count} rule{'s' if count != 1 else ''}; see details"
    return ApiError(422, message, error.errors).response()


def _database_unavailable(error: Exception) -> Response:
    # The class only: a driver's message may quote the statement and its parameters.
    log.warning("api: database unavailable (%s)", type(error).__name__)
    return json_error(503, DB_UNAVAILABLE_MESSAGE, headers=RETRY_LATER)


for _exc in DB_UNAVAILABLE:
    bp.register_error_handler(_exc, _database_unavailable)


@bp.errorhandler(IntegrityError)
def _write_conflict(error: IntegrityError) -> Response:
    # Two requests creating the same record at the same moment: one of them loses the insert.
    log.warning("api: concurrent write conflict (%s)", type(error).__name__)
    message = "a concurrent write to the same record conflicted with this one; retry"
    return json_error(503, message, headers=CONFLICT_RETRY_AFTER)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return ApiError(error.code or 500, error.description or error.name).response()


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    log.exception("api: %s %s failed", request.method, request.path)
    return ApiError(500, "internal error; the request changed nothing").response()
