"""Pages for people and operators: the index, the OPML list, health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from feedsvc import current_services, store
from feedsvc.http.conditional import format_http_date, is_not_modified
from feedsvc.publish.snapshot import strong_etag
from feedsvc.render import opml, page
from feedsvc.web.errors import NO_STORE, NOSNIFF, RETRY_LATER

bp = Blueprint("pages", __name__)

PAGE_MAX_AGE = 60


def _cached(body: bytes, content_type: str, last_modified: datetime | None) -> Response:
    """A page with a strong ETag, Last-Modified and 304s, like a feed."""
    etag = strong_etag(body)
    lm = int(last_modified.timestamp()) if last_modified else 0
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={PAGE_MAX_AGE}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": NOSNIFF,
    }
    if lm:
        headers["Last-Modified"] = format_http_date(lm)
    if is_not_modified(
        request.headers.get("If-None-Match"),
        request.headers.get("If-Modified-Since"),
        etag,
        lm,
        True,
    ):
        return Response(status=304, headers=headers)
    return Response(body, content_type=content_type, headers=headers)


def _categories() -> tuple[list[Any], datetime | None]:
    with current_services().db.reading() as session:
        categories = store.list_categories(session)
        deleted = store.category_deleted_at(session)  # the list changed then too
    changes = [c.updated_at for c in categories] + ([deleted] if deleted else [])
    return categories, max(changes, default=None)


@bp.get("/")
def index() -> Response:
    """Every category with its feed links and autodiscovery tags."""
    settings = current_services().settings
    categories, newest = _categories()
    # One cheap query per request; the page itself is rendered once per distinct input
    # (page.render_index caches), and If-None-Match/If-Modified-Since answer 304 as for feeds.
    index_page = page.Index(
        base_url=settings.base_url,
        site_url=settings.site_url,
        site_title=settings.site_title,
        categories=tuple(page.Listing(c.slug, c.name, c.description) for c in categories),
    )
    return _cached(page.render_index(index_page), page.MEDIA_TYPE, newest)


@bp.get("/feeds.opml")
def feeds_opml() -> Response:
    """OPML 2.0: one outline per category's RSS feed, and one for ``all``."""
    settings = current_services().settings
    categories, newest = _categories()
    base = settings.base_url
    outlines = [
        opml.Outline(
            text=f"{settings.site_title} – Tất cả tin",
            title=f"{settings.site_title} – Tất cả tin",
            xml_url=f"{base}/feeds/all.rss",
            html_url=settings.site_url,
        )
    ] + [
        opml.Outline(
            text=f"{settings.site_title} – {c.name}",
            title=f"{settings.site_title} – {c.name}",
            xml_url=f"{base}/feeds/{c.slug}.rss",
            html_url=f"{base}/feeds/{c.slug}.html",
        )
        for c in categories
    ]
    document = opml.OpmlDocument(
        title=f"{settings.site_title} – RSS",
        date_modified=(newest or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(settings.timezone),
        outlines=tuple(outlines),
    )
    return _cached(opml.render(document), "text/x-opml; charset=utf-8", newest)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Database reachable, and the age of the newest successful regeneration; 503 if not."""
    services = current_services()
    now = services.clock.now()
    body: dict[str, Any] = {"database": "ok", "snapshots": len(services.registry.snapshots)}
    status = 200
    last_success: datetime | None = None
    try:
        with services.db.reading() as session:
            store.check_connection(session)
            recorded = store.get_meta(session, "last_success")
        last_success = datetime.fromisoformat(recorded) if recorded else None
    except Exception as exc:
        body["database"] = f"unreachable: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        status = 503
    if last_success is None:
        body["last_regeneration_age_seconds"] = None
        body["regeneration"] = "no successful regeneration yet"
        status = 503
    else:
        age = max(0.0, (now - last_success).total_seconds())
        body["last_regeneration_age_seconds"] = round(age, 3)
        limit = 3 * services.settings.regenerate_seconds + 30
        body["regeneration"] = "ok" if age <= limit else f"stale: older than {limit} s"
        if age > limit:
            status = 503
    body["status"] = "ok" if status == 200 else "unhealthy"
    headers = {"Cache-Control": NO_STORE}
    if status == 503:
        headers.update(RETRY_LATER)
    return body, status, headers
