"""Articles: one at a time (with an ETag, If-Match and If-None-Match), in batches, and the
list with filters and cursor pages.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from feedsvc import current_services
from feedsvc.ingest import store_records as ingest
from feedsvc.web import listing
from feedsvc.web.api.base import ApiError, bp, log, no_content, read_json, written
from feedsvc.web.api.categories import unknown_category
from feedsvc.web.errors import PRIVATE, json_response
from feedsvc.web.preconditions import Conditions, Outcome, etag_of, parse_conditions
from feedsvc.web.schemas import MAX_BATCH

_ARTICLE = 'a JSON object with "url", "title", "categories" and "published_at"'
_BATCH = f"a JSON array of at most {MAX_BATCH} article objects"


@bp.errorhandler(ingest.PreconditionFailed)
def _precondition_failed(error: ingest.PreconditionFailed) -> Response:
    return _failed(error.article_id, error.version).response()


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
    written(status)
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
    written("deleted")
    log.info("api: article %s deleted", article_id)
    return no_content()


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
        raise unknown_category(query.category)
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
