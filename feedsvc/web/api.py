"""The ingest API (docs/interface.md, "Ingest API"): JSON in and out, bearer tokens.

Every record goes through feedsvc.ingest.store_records, the code path the CLI importer uses, so
the API accepts, rejects and normalises exactly as the CLI does. Each request is one transaction: a
rejected request changes nothing.

Request bodies must be JSON: ``Content-Type: application/json`` (or ``application/*+json``), or
no Content-Type at all (then the body is read as JSON); any other type gets ``415``, and a form
type ``400`` (a form may carry a token, RFC 6750 §2.2, which is refused).

Only the list of articles takes query parameters; the OpenAPI document of the API
(feedsvc/web/openapi.py) is the one call that needs no token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from feedsvc import current_services
from feedsvc.ingest import store_records as ingest
from feedsvc.ingest.records import FieldError, RecordError
from feedsvc.ingest.strictjson import JSONError, loads_strict
from feedsvc.store import ALL
from feedsvc.store.db import DB_UNAVAILABLE
from feedsvc.web import listing, openapi
from feedsvc.web.auth import authenticate, challenge, misplaced_credentials
from feedsvc.web.errors import (
    DB_UNAVAILABLE_MESSAGE,
    PRIVATE,
    RETRY_LATER,
    json_error,
    json_response,
)
from feedsvc.web.preconditions import (
    Conditions,
    MalformedCondition,
    Outcome,
    etag_of,
    parse_conditions,
)
from feedsvc.web.schemas import MAX_BATCH

bp = Blueprint("api", __name__, url_prefix="/api/v1")

log = logging.getLogger(__name__)

# Two requests racing to create one record: the loser can retry at once.
CONFLICT_RETRY_AFTER = {"Retry-After": "1"}
_READ_CHUNK = 64 * 1024


class ApiError(Exception):
    """An error response: status, a message saying what to fix, field details, headers."""

    def __init__(
        self,
        status: int,
        message: str,
        details: Iterable[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """The interface's error body: {"error": …, "details": [{"field", "message"}, …]}."""
        details = [d.to_json() for d in self.details]
        return json_error(self.status, self.message, details, self.headers)


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


@bp.errorhandler(ingest.PreconditionFailed)
def _precondition_failed(error: ingest.PreconditionFailed) -> Response:
    return _failed(error.article_id, error.version).response()


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


# --- reading the body ---------------------------------------------------------------------------


def _check_content_type() -> None:
    """Accept JSON media types, or none; RFC 8259 §8.1: JSON text is UTF-8."""
    mimetype = request.mimetype
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if mimetype and not is_json:
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, "JSON must be UTF-8 (RFC 8259 §8.1); drop the charset parameter")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the body is larger than {limit} bytes (FEEDSVC_MAX_BODY_BYTES); send fewer or "
        "smaller records per request",
    )


def read_body(limit: int) -> bytes:
    """The request body, refused with 413 above ``limit`` bytes without reading further.

    Content-Length is checked before anything is read; a chunked body (no Content-Length) is
    read only up to one byte past the limit.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = request.stream.read(min(_READ_CHUNK, limit + 1 - total))
        except RequestEntityTooLarge:
            # The app-wide cap (feedsvc.web.bodycap, never below this limit) came first.
            raise _too_large(limit) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)


def read_json(kind: type, example: str) -> Any:
    """The body parsed strictly as JSON; 400 unless it is a ``kind`` (dict or list)."""
    _check_content_type()
    body = read_body(current_services().settings.max_body_bytes)
    if not body.strip():
        raise ApiError(400, f"the body is empty; send {example}")
    try:
        value = loads_strict(body)
    except JSONError as exc:
        raise ApiError(400, f"the body is not acceptable JSON: {exc}") from None
    if not isinstance(value, kind):
        raise ApiError(400, f"the body must be {example}")
    return value


# --- endpoints ----------------------------------------------------------------------------------

_CATEGORY = 'a JSON object like {"name": "Quốc phòng - An ninh"}'
_ARTICLE = 'a JSON object with "url", "title", "categories" and "published_at"'
_BATCH = f"a JSON array of at most {MAX_BATCH} article objects"


def _written(status: str) -> None:
    """Wake regeneration when a write changed something (an identical repeat changes nothing)."""
    if status != "unchanged":
        current_services().written()


def _no_content() -> Response:
    """204, with no body and so no type (RFC 9110 §15.3.5)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers.update(PRIVATE)
    return response


@bp.get("/openapi.json", provide_automatic_options=False)
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API: public, cacheable, with an ETag."""
    return openapi.serve(current_services().settings.base_url, request.headers.get("If-None-Match"))


# --- categories ---------------------------------------------------------------------------------


@bp.get("/categories", provide_automatic_options=False)
def list_categories() -> Response:
    """Every category as accepted, by slug."""
    records = ingest.list_categories(current_services().db)
    return json_response({"categories": [record.to_json() for record in records]}, 200)


@bp.get("/categories/<slug>", provide_automatic_options=False)
def get_category(slug: str) -> Response:
    """One category as accepted."""
    known = ingest.is_category_slug(slug)
    record = ingest.load_category(current_services().db, slug) if known else None
    if record is None:
        raise _unknown_category(slug)
    return json_response(record.to_json(), 200)


@bp.put("/categories/<slug>", provide_automatic_options=False)
def put_category(slug: str) -> Response:
    """Upsert one category: 201 new, 200 replaced or unchanged."""
    services = current_services()
    record, status = ingest.put_category(
        services.db, services.clock, slug, read_json(dict, _CATEGORY)
    )
    _written(status)
    # Its feeds answer 503, not 404, until rendered: here at once, in other workers once their
    # watcher sees the write (feedsvc.publish.registry).
    services.registry.learn_feeds([record.slug])
    log.info("api: category %s %s", record.slug, status)
    return json_response(record.to_json(), 201 if status == "created" else 200)


@bp.delete("/categories/<slug>", provide_automatic_options=False)
def delete_category(slug: str) -> Response:
    """Delete a category and its feeds: 204; 409 while articles are in it; 404 if unknown."""
    services = current_services()
    known = ingest.is_category_slug(slug)
    remaining = ingest.delete_category(services.db, services.clock, slug) if known else None
    if remaining is None:
        raise _unknown_category(slug)
    if remaining:
        articles, them = (f"{remaining} articles", "them") if remaining > 1 else ("1 article", "it")
        raise ApiError(
            409,
            f"category {slug!r} still has {articles}: move {them} to other categories (PUT with "
            f"new categories) or delete {them} (DELETE /api/v1/articles/ID), then delete the "
            f"category; GET /api/v1/articles?category={slug} lists {them}",
        )
    # This worker stops serving its feeds at once; the others at their next refresh.
    services.registry.remove(slug)
    log.info("api: category %s deleted", slug)
    return _no_content()


def _unknown_category(slug: str) -> ApiError:
    if slug == ALL:
        return ApiError(
            404,
            "'all' is not a category: it is the feed of every category, and cannot be read or "
            "deleted here",
        )
    shown = repr(slug) if len(slug) <= 80 else "with this slug"
    return ApiError(404, f"no category {shown}: it was never created, or it has been deleted")


# --- one article --------------------------------------------------------------------------------


def _conditions() -> Conditions | None:
    """The request's If-Match / If-None-Match (400 when malformed), or None."""
    return parse_conditions(request.headers.get("If-Match"), request.headers.get("If-None-Match"))


def _failed(article_id: str, version: str | None) -> ApiError:
    """412: the article is not at a version the request's If-Match names, or is at one its
    If-None-Match names; the message says which, and the current ETag comes along."""
    shown = repr(article_id) if len(article_id) <= 200 else "with this id"
    if version is None:
        return ApiError(
            412,
            f"precondition failed: no article {shown} exists (never stored, or deleted), so "
            "If-Match names none of its versions; nothing was changed",
        )
    etag = etag_of(version)
    conditions = _conditions()
    if conditions is not None and conditions.if_match is not None:
        if not conditions.if_match.strong_match(version):
            return ApiError(
                412,
                f"precondition failed: article {shown} changed since you read it: it is now at "
                f"{etag}, which If-Match does not name; GET it, apply your change again and send "
                f"it with If-Match: {etag}; nothing was changed",
                headers={"ETag": etag},
            )
    return ApiError(
        412,
        f"precondition failed: article {shown} exists at {etag}, which If-None-Match names "
        "(If-None-Match: * writes only an article that does not exist); nothing was changed",
        headers={"ETag": etag},
    )


@bp.put("/articles/<article_id>", provide_automatic_options=False)
def put_article(article_id: str) -> Response:
    """Upsert one article: 201 new (also after a delete), 200 replaced or unchanged; its ETag.

    With If-Match (or If-None-Match) only when the stored version satisfies it, else 412.
    """
    services = current_services()
    conditions = _conditions()
    record, status = ingest.put_article(
        services.db,
        services.settings,
        services.clock,
        article_id,
        read_json(dict, _ARTICLE),
        precondition=None if conditions is None else conditions.holds,
    )
    _written(status)
    log.info("api: article %s %s", record.id, status)
    etag = etag_of(ingest.version_of(record))
    return json_response(record.to_json(), 201 if status == "created" else 200, {"ETag": etag})


@bp.get("/articles/<article_id>", provide_automatic_options=False)
def get_article(article_id: str) -> Response:
    """The stored article as accepted (normalised), with its ETag; 304 / 412 on conditions."""
    conditions = _conditions()
    # What cannot be a stored id is not looked up (PostgreSQL refuses a NUL with an error).
    known = ingest.is_article_id(article_id)
    stored = ingest.read_article(current_services().db, article_id) if known else None
    if stored is None:
        raise _unknown_article(article_id)
    etag = etag_of(stored.version)
    outcome = (
        Outcome.PROCEED if conditions is None else conditions.outcome(stored.version, safe=True)
    )
    if outcome is Outcome.FAILED:
        raise _failed(article_id, stored.version)
    if outcome is Outcome.NOT_MODIFIED:
        response = Response(status=304, headers={**PRIVATE, "ETag": etag})
        del response.headers["Content-Type"]
        return response
    return json_response(stored.record.to_json(), 200, {"ETag": etag})


@bp.delete("/articles/<article_id>", provide_automatic_options=False)
def delete_article(article_id: str) -> Response:
    """Remove an article from every feed: 204; 404 when unknown or already deleted; 412 when
    the request's condition does not hold."""
    services = current_services()
    conditions = _conditions()
    known = ingest.is_article_id(article_id)
    precondition = None if conditions is None else conditions.holds
    if not (known and ingest.delete_article(services.db, services.clock, article_id, precondition)):
        raise _unknown_article(article_id)
    _written("deleted")
    log.info("api: article %s deleted", article_id)
    return _no_content()


def _unknown_article(article_id: str) -> ApiError:
    shown = repr(article_id) if len(article_id) <= 200 else "with this id"
    return ApiError(404, f"no article {shown}: it was never stored, or it has been deleted")


# --- many articles ------------------------------------------------------------------------------


@bp.post("/articles", provide_automatic_options=False)
def post_articles() -> Response:
    """Upsert a batch: always 200 with what was stored and what was rejected, by index."""
    raws = read_json(list, _BATCH)
    if len(raws) > MAX_BATCH:
        raise ApiError(
            413, f"a batch holds at most {MAX_BATCH} articles, got {len(raws)}; split it"
        )
    services = current_services()
    result = ingest.store_articles(services.db, services.settings, services.clock, raws)
    if result.changed:
        services.written()
    log.info(
        "api: batch of %d: %d stored, %d rejected",
        len(raws),
        len(result.stored),
        len(result.rejected),
    )
    return json_response(batch_json(result), 200)


def batch_json(result: ingest.BatchResult) -> dict[str, list[dict[str, Any]]]:
    """The interface's batch answer; a rejected record's ``id`` only when it had a string id."""
    rejected: list[dict[str, Any]] = []
    for reject in result.rejected:
        entry: dict[str, Any] = {"index": reject.index}
        if reject.id is not None:
            entry["id"] = reject.id
        entry["details"] = [d.to_json() for d in reject.details]
        rejected.append(entry)
    return {
        "stored": [{"index": s.index, "id": s.id, "status": s.status} for s in result.stored],
        "rejected": rejected,
    }


@bp.get("/articles", provide_automatic_options=False)
def list_articles() -> Response:
    """A page of stored articles in the order they changed, filtered, with the next page's
    cursor and link (null on the last page)."""
    services = current_services()
    query = listing.parse_query(request.args, services.settings.timezone)
    if query.category is not None and ingest.load_category(services.db, query.category) is None:
        raise _unknown_category(query.category)
    page = ingest.list_articles(
        services.db,
        category=query.category,
        changed_since=query.changed_since,
        after=query.after,
        limit=query.limit,
    )
    cursor = next_url = None
    if page.after is not None:
        cursor = listing.encode_cursor(page.after)
        here = f"{services.settings.base_url}{bp.url_prefix}/articles"  # never the Host header
        next_url = listing.next_link(here, request.args, cursor)
    articles = [stored.record.to_json() for stored in page.articles]
    return json_response({"articles": articles, "next_cursor": cursor, "next": next_url}, 200)
