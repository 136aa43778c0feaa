"""Helpers every renderer shares: the Parts type, text cleaning, dates, the lead photo.

Nothing here knows a feed format's element names; the format modules do.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

from feedsvc.render.feed import CategoryRef, Feed, Image, Item
from feedsvc.textfilter import CharFilter


@dataclass(frozen=True, slots=True)
class Parts:
    """A rendered feed cut around its items: ``head + sep.join(items[:n]) + tail`` is always a
    complete feed of the newest ``n`` items (how ``?limit=N`` is served without re-rendering)."""

    head: bytes
    items: tuple[bytes, ...]
    tail: bytes
    sep: bytes

    def join(self, limit: int | None = None) -> bytes:
        """The whole feed, or only its newest ``limit`` items."""
        chosen = self.items if limit is None else self.items[:limit]
        return self.head + self.sep.join(chosen) + self.tail


# XML 1.0 §2.2 Char excludes C0 controls but tab/newline/return, lone surrogates and
# U+FFFE/U+FFFF; C1 controls (and DEL) are allowed but discouraged (§2.2 note) and break
# readers. Input cleaning (feedsvc.ingest.records) removes them already; renderers do it again so a
# record that slipped past can never make a feed ill-formed.
_FORBIDDEN = CharFilter(
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff",
    bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]),
)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
}

# Items cleaned inside a cleaning_once() block: id(item) -> (item, its cleaned copy).
_CLEANED: ContextVar[dict[int, tuple[Item, Item]] | None] = ContextVar(
    "feedsvc_cleaned_items", default=None
)


def clean_text(value: str) -> str:
    """Drop characters XML 1.0 forbids and C1 controls, then NFC-normalise."""
    return _FORBIDDEN.clean(value)


def _clean_optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def _clean_image(image: Image | None) -> Image | None:
    if image is None:
        return None
    return Image(
        url=clean_text(image.url),
        caption=_clean_optional(image.caption),
        mime_type=_clean_optional(image.mime_type),
        length=image.length,
    )


def _clean_category(ref: CategoryRef) -> CategoryRef:
    return CategoryRef(clean_text(ref.slug), clean_text(ref.name))


def _clean_item(item: Item) -> Item:
    # Built directly rather than with dataclasses.replace, which costs more than the cleaning.
    return Item(
        id=clean_text(item.id),
        article_id=clean_text(item.article_id),
        url=clean_text(item.url),
        title=clean_text(item.title),
        published=item.published,
        updated=item.updated,
        summary=_clean_optional(item.summary),
        content_html=_clean_optional(item.content_html),
        author=_clean_optional(item.author),
        categories=tuple(_clean_category(c) for c in item.categories),
        image=_clean_image(item.image),
    )


@contextmanager
def cleaning_once() -> Iterator[None]:
    """Within this block each Item object is cleaned once, however many renderers receive it.

    Regeneration renders every format of a feed from the same Item objects; without this each
    format would clean (scan and normalise) every item body again.
    """
    token = _CLEANED.set({})
    try:
        yield
    finally:
        _CLEANED.reset(token)


def clean_item(item: Item) -> Item:
    """A copy of ``item`` whose every string is safe for XML and JSON and NFC-normalised."""
    memo = _CLEANED.get()
    if memo is None:
        return _clean_item(item)
    seen = memo.get(id(item))
    if seen is not None and seen[0] is item:
        return seen[1]
    cleaned = _clean_item(item)
    memo[id(item)] = (item, cleaned)  # holding item keeps its id from being reused
    return cleaned


def clean_feed(feed: Feed) -> Feed:
    """A copy of ``feed`` whose every string is safe for XML and JSON and NFC-normalised."""
    return dataclasses.replace(
        feed,
        key=clean_text(feed.key),
        title=clean_text(feed.title),
        description=clean_text(feed.description),
        site_url=clean_text(feed.site_url),
        site_title=clean_text(feed.site_title),
        base_url=clean_text(feed.base_url),
        items=tuple(clean_item(i) for i in feed.items),
        category=None if feed.category is None else _clean_category(feed.category),
        hub_url=_clean_optional(feed.hub_url),
        language=clean_text(feed.language),
        generator=clean_text(feed.generator),
        icon_url=_clean_optional(feed.icon_url),
        logo_url=_clean_optional(feed.logo_url),
        extra={clean_text(k): clean_text(v) for k, v in feed.extra.items()},
    )


def local_time(moment: datetime, tz: tzinfo | None) -> datetime:
    """``moment`` in zone ``tz`` (None: its own), whole seconds (RFC 822 has no fractions)."""
    if moment.tzinfo is None:
        raise ValueError(
            f"render: naive datetime {moment.isoformat()} in a feed; "
            "build Feed/Item times as aware datetimes (feedsvc.publish.feed_builder does)"
        )
    return (moment if tz is None else moment.astimezone(tz)).replace(microsecond=0)


def rfc822(moment: datetime, tz: tzinfo | None) -> str:
    """RSS date (RFC 822 §5 with a four-digit year), e.g. ``Fri, 03 Feb 2023 18:30:00 +0700``."""
    # Written by hand, not with strftime %a/%b, whose names follow the process locale.
    t = local_time(moment, tz)
    offset = t.strftime("%z")  # %z is numeric and locale-independent
    return (
        f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} {offset}"
    )


def rfc3339(moment: datetime, tz: tzinfo | None) -> str:
    """Atom/JSON Feed date (RFC 3339 §5.6), e.g. ``2023-02-03T18:30:00+07:00``."""
    return local_time(moment, tz).isoformat()


def ttl_minutes(max_age: int) -> int:
    """RSS ``ttl``: the cache lifetime in whole minutes, at least 1."""
    return max(1, math.ceil(max_age / 60))


def update_frequency(max_age: int) -> int:
    """``sy:updateFrequency`` per hour (``sy:updatePeriod`` hourly), at least 1."""
    return max(1, 3600 // max(1, max_age))


def image_type(image: Image) -> str | None:
    """The image's media type: the record's ``mime_type``, else from the URL's extension."""
    if image.mime_type:
        return image.mime_type
    path = urlsplit(image.url).path.lower()
    dot = path.rfind(".")
    return _IMAGE_TYPES.get(path[dot:]) if dot >= 0 else None


def lead_figure_html(image: Image | None) -> str:
    """The lead photo as an HTML ``<figure>`` (empty string when there is none)."""
    if image is None:
        return ""
    src = html.escape(image.url, quote=True)
    if not image.caption:
        return f'<figure><img src="{src}" alt=""></figure>'
    alt = html.escape(image.caption, quote=True)
    caption = html.escape(image.caption, quote=False)
    return f'<figure><img src="{src}" alt="{alt}"><figcaption>{caption}</figcaption></figure>'


def fallback_text(item: Item) -> str:
    """Plain text standing in for a missing body: the summary, else the title."""
    return item.summary or item.title


def content_html(item: Item) -> str:
    """The item's HTML body with the lead photo on top; without a body, the fallback text."""
    body = item.content_html or f"<p>{html.escape(fallback_text(item), quote=False)}</p>"
    return lead_figure_html(item.image) + body


def description_html(item: Item) -> str:
    """RSS ``description``: the lead photo, then the summary (else the title) as escaped text."""
    # RSS 2.0 description is HTML, so plain text is HTML-escaped before XML escaping
    # (RSS Best Practices Profile, "description").
    return lead_figure_html(item.image) + html.escape(fallback_text(item), quote=False)
