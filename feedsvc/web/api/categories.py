"""Categories: list, read, upsert, delete (refused with 409 while articles are in it); and the
API's own OpenAPI document.
"""

from __future__ import annotations

from flask import Response, request

from feedsvc import current_services
from feedsvc.ingest import store_records as ingest
from feedsvc.store import ALL
from feedsvc.web import openapi
from feedsvc.web.api.base import ApiError, bp, log, no_content, read_json, written
from feedsvc.web.errors import json_response

_CATEGORY = 'a JSON object like {"name": "Quốc phòng - An ninh"}'


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
        raise unknown_category(slug)
    return json_response(record.to_json(), 200)


@bp.put("/categories/<slug>", provide_automatic_options=False)
def put_category(slug: str) -> Response:
    """Upsert one category: 201 new, 200 replaced or unchanged."""
    services = current_services()
    record, status = ingest.put_category(
        services.db, services.clock, slug, read_json(dict, _CATEGORY)
    )
    written(status)
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
        raise unknown_category(slug)
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
    return no_content()


def unknown_category(slug: str) -> ApiError:
    if slug == ALL:
        return ApiError(
            404,
            "'all' is not a category: it is the feed of every category, and cannot be read or "
            "deleted here",
        )
    shown = repr(slug) if len(slug) <= 80 else "with this slug"
    return ApiError(404, f"no category {shown}: it was never created, or it has been deleted")
