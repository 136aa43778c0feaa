"""Pages for people and operators: the index, the OPML list, health."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestHeaderFieldsTooLarge

from feedsvc import current_services, store
from feedsvc.http.cache_policy import CachePolicy, page_keys
from feedsvc.http.conditional import FieldTooLarge, accepts_gzip, is_not_modified
from feedsvc.http.page_policy import page_headers
from feedsvc.publish.snapshot import Variant, gzip_bytes, make_variant
from feedsvc.render import opml, page
from feedsvc.web.errors import NO_STORE, NOSNIFF, RETRY_LATER

bp = Blueprint("pages", __name__)

log = logging.getLogger(__name__)

PAGE_MAX_AGE = 60


class PreparedResponse(Response):
    """A response sent with its prepared headers: werkzeug drops ``Last-Modified`` from every
    304, where a feed's 304 carries it (RFC 9110 §15.4.5 lets a 304 send the validators)."""

    def get_wsgi_headers(self, environ: Any) -> Headers:
        """werkzeug's headers, with the prepared Last-Modified back on a 304."""
        headers = super().get_wsgi_headers(environ)
        modified = self.headers.get("Last-Modified")
        if self.status_code == 304 and modified is not None:
            headers["Last-Modified"] = modified
        return headers


@lru_cache(maxsize=16)
def _variants(
    body: bytes, content_type: str, last_modified: int, policy: CachePolicy, name: str
) -> tuple[Variant, Variant]:
    """The identity and gzip variants of a page, each with its strong ETag and the header
    lists of its 200 and 304, as a feed snapshot prepares them (same pages, same work);
    ``name`` (``index`` or ``opml``) picks its surrogate keys."""
    cache_control = policy.cache_control(PAGE_MAX_AGE)
    keys = policy.surrogate(page_keys(name))
    # last_modified 0 (no category yet: nothing to date the page by) sends no Last-Modified.
    identity, gzipped = (
        make_variant(
            content_type, data, last_modified, cache_control, gzipped=zipped, surrogate=keys
        )
        for data, zipped in ((body, False), (gzip_bytes(body), True))
    )
    return identity, gzipped


def _cached(body: bytes, content_type: str, last_modified: datetime | None, name: str) -> Response:
    """A page with strong ETags (one per encoding), Last-Modified, gzip and 304s, like a feed."""
    lm = int(last_modified.timestamp()) if last_modified else 0
    policy = current_services().settings.cache_policy
    identity, gzipped = _variants(body, content_type, lm, policy, name)
    variant = gzipped if accepts_gzip(request.headers.get("Accept-Encoding")) else identity
    try:
        not_modified = is_not_modified(
            request.headers.get("If-None-Match"),
            request.headers.get("If-Modified-Since"),
            variant.etag,
            lm,
            True,
        )
    except FieldTooLarge as exc:
        raise RequestHeaderFieldsTooLarge(str(exc)) from None
    if not_modified:
        return PreparedResponse(status=304, headers=variant.headers_304)
    return PreparedResponse(variant.body, headers=variant.headers)


@bp.after_app_request
def protect_html(response: Response) -> Response:
    """Every HTML page Flask sends (the index; any other that comes) carries the browser
    protections of feed pages (http/page_policy.py): its images are the service's own."""
    html = response.mimetype == "text/html" and response.status_code != 304
    if html and "Content-Security-Policy" not in response.headers:
        for name, value in page_headers(current_services().settings.base_url):
            response.headers[name] = value
        response.headers["X-Content-Type-Options"] = NOSNIFF
    return response


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
    return _cached(page.render_index(index_page), page.MEDIA_TYPE, newest, "index")


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
            html_url=f"{base}/feeds/all.html",  # its page, as every other outline
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
    return _cached(opml.render(document), "text/x-opml; charset=utf-8", newest, "opml")


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
        # The reason stays in the log: a driver's message names the database's host and port,
        # which no public answer may reveal (issue 13, finding 5).
        log.warning("healthz: database unreachable: %s", _first_line(exc))
        body["database"] = "unreachable"
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


def _first_line(exc: BaseException) -> str:
    """The exception's class and the first line of its message (the rest is SQL and a link)."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
