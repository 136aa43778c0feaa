"""The feed as an HTML page for people (``/feeds/SLUG.html``), and the index page (``/``).

Rendered with Jinja2 from ``feedsvc/templates`` through an environment of our own, not Flask's
``render_template``: feed pages are rendered during regeneration, outside any request, and
stored in the snapshot beside the feeds. Autoescaping is always on, so every string from a
record reaches the page as text. Only the :class:`~feedsvc.render.feed.Feed` object is read (no
queries, no clock), so the same feed always gives the same bytes (and the same ETag).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from urllib.parse import urlsplit

import jinja2
import markupsafe

from feedsvc.render._common import clean_feed, clean_text, local_time
from feedsvc.render.feed import Feed, Item

MEDIA_TYPE = "text/html; charset=utf-8"

# datetime.weekday(): Monday is 0. The paper writes "Thứ sáu", "Chủ nhật" (capital first word).
WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")

# The feed formats a page offers, in the order shown: (format, Content-Type for rel=alternate,
# label). Media types as in docs/interface.md (Feeds) without the charset parameter.
FEED_LINKS = (
    ("rss", "application/rss+xml", "RSS 2.0"),
    ("atom", "application/atom+xml", "Atom 1.0"),
    ("json", "application/feed+json", "JSON Feed 1.1"),
)

EAGER_IMAGES = 3  # the first photos are likely on screen at once: do not lazy-load them

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("feedsvc", "templates"),
    autoescape=True,  # every template, whatever its name: records are untrusted text
    undefined=jinja2.StrictUndefined,  # a typo in a template fails the render, not the reader
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def breakable_url(url: str) -> markupsafe.Markup:
    """``url`` escaped, each path segment unbreakable, a ``<wbr>`` after each run of ``/``."""
    # A long feed URL in a narrow column then wraps between segments, never inside one (not
    # at the hyphen of "thoi-su"); <wbr> and <span> add no text, so a copied URL stays exact.
    segments = re.findall(r"[^/]*/+|[^/]+", url)
    return markupsafe.Markup("<wbr>").join(
        markupsafe.Markup("<span>%s</span>") % segment for segment in segments
    )


_ENV.filters["breakable_url"] = breakable_url


@dataclass(frozen=True, slots=True)
class Listing:
    """One category as the index lists it."""

    slug: str
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    """Everything the index page shows; hashable, so a rendered index can be reused."""

    base_url: str
    site_url: str
    site_title: str
    categories: tuple[Listing, ...]


def gmt_offset(moment: datetime) -> str:
    """The zone offset of an aware time the way the paper writes it: ``GMT+7``, ``GMT+5:30``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"page: naive datetime {moment.isoformat()}; give an aware datetime")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def newspaper_time(moment: datetime, tz: tzinfo | None) -> str:
    """A time in the paper's style in zone ``tz``: ``Thứ sáu, 24/03/2023 05:18 GMT+7``."""
    # Written by hand rather than with strftime %A, whose names follow the process locale.
    t = local_time(moment, tz)
    return (
        f"{WEEKDAYS[t.weekday()]}, {t.day:02d}/{t.month:02d}/{t.year:04d} "
        f"{t.hour:02d}:{t.minute:02d} {gmt_offset(t)}"
    )


def machine_time(moment: datetime, tz: tzinfo | None) -> str:
    """The ``datetime`` attribute of ``<time>`` (HTML §4.5.14, a global date and time string)."""
    return local_time(moment, tz).isoformat()


def web_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None: no ``javascript:`` link or image."""
    # Records are validated on the way in (docs/interface.md, Records); this guards the page anyway.
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


PAGE_ITEMS = 20


def render(feed: Feed) -> bytes:
    """The feed as an HTML5 page: its latest items with photo, sapo, author and time."""
    # A page for people shows the newest PAGE_ITEMS; the feeds carry the rest. It is rendered on
    # every change of its feed, so this also keeps publishing fast.
    feed = clean_feed(dataclasses.replace(feed, items=feed.items[:PAGE_ITEMS]))
    template = _ENV.get_template("feed.html")
    return template.render(
        feed=feed,
        heading=feed.category.name if feed.category else "Tất cả tin",
        formats=_format_links(feed.base_url, feed.key),
        html_url=feed.url("html"),
        icon_url=_icon(feed),
        updated=_time_pair(feed.last_modified, feed.timezone),
        items=[_item_view(feed, item, position) for position, item in enumerate(feed.items)],
    ).encode("utf-8")


def images(feed: Feed) -> tuple[str, ...]:
    """The URL of every image the page of ``feed`` shows: its icon and its items' photos (its
    Content-Security-Policy lets exactly their hosts in)."""
    photos = [web_url(item.image.url) for item in feed.items[:PAGE_ITEMS] if item.image]
    return tuple(url for url in [_icon(feed), *photos] if url)


def _icon(feed: Feed) -> str:
    """The masthead's icon (feed.html shows the same)."""
    return feed.icon_url or f"{feed.base_url}/static/icon-64.png"


@lru_cache(maxsize=16)
def render_index(index: Index) -> bytes:
    """The index page: every category with its feed links and how to subscribe."""
    # Cached: the index is served per request, and equal inputs give equal bytes.
    template = _ENV.get_template("index.html")
    categories = [_listing_view(index.base_url, c) for c in index.categories]
    return template.render(
        site_title=clean_text(index.site_title),
        site_url=web_url(index.site_url),
        base_url=index.base_url,
        all_formats=_format_links(index.base_url, "all"),
        categories=categories,
    ).encode("utf-8")


def _format_links(base_url: str, key: str) -> list[dict[str, str]]:
    """The three feed formats of ``key``: URL, media type and label of each."""
    return [
        {"fmt": fmt, "url": f"{base_url}/feeds/{key}.{fmt}", "type": media, "label": label}
        for fmt, media, label in FEED_LINKS
    ]


def _time_pair(moment: datetime, tz: tzinfo | None) -> dict[str, str]:
    return {"iso": machine_time(moment, tz), "text": newspaper_time(moment, tz)}


def _item_view(feed: Feed, item: Item, position: int) -> dict[str, object]:
    """What the template shows of one item (sapo only: the body stays on the paper's site)."""
    image = item.image
    src = web_url(image.url) if image else None
    others = [c for c in item.categories if feed.category is None or c.slug != feed.category.slug]
    return {
        "anchor": f"tin-{item.article_id}",
        "url": web_url(item.url),
        "title": item.title,
        "summary": item.summary,
        "author": item.author,
        "published": _time_pair(item.published, feed.timezone),
        "image": None
        if src is None or image is None
        else {
            "src": src,
            "caption": image.caption or "",
            "loading": "eager" if position < EAGER_IMAGES else "lazy",
        },
        "categories": [
            {"name": c.name, "url": f"{feed.base_url}/feeds/{c.slug}.html"} for c in others
        ],
    }


def _listing_view(base_url: str, listing: Listing) -> dict[str, object]:
    return {
        "slug": listing.slug,
        "name": clean_text(listing.name),
        "description": clean_text(listing.description) if listing.description else None,
        "html_url": f"{base_url}/feeds/{listing.slug}.html",
        "formats": _format_links(base_url, listing.slug),
    }
