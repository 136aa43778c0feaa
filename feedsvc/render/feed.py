"""The plain feed object: everything a renderer needs, nothing it has to look up.

Built once per regeneration by :mod:`feedsvc.publish.feed_builder` from the store; every renderer in
:mod:`feedsvc.render` receives only this and writes bytes (as Django's ``SyndicationFeed`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

FORMATS = ("rss", "atom", "json")


@dataclass(frozen=True, slots=True)
class Image:
    """The lead photo of an article; never fetched, so length may be unknown (0)."""

    url: str
    caption: str | None = None
    mime_type: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class CategoryRef:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One article as it appears in a feed; times are aware and in the feed's zone."""

    id: str  # tag: URI, identical in every format, stable across edits
    article_id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    summary: str | None = None
    content_html: str | None = None  # already sanitized by feedsvc.ingest.records
    author: str | None = None
    categories: tuple[CategoryRef, ...] = ()
    image: Image | None = None
    # The stored record's digest (store.record_hash) when built from the store: equal digests
    # mean equal records, so an item's key need not hash its 5 kB body again. None: unknown.
    record_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed (a category, or ``all``) with its channel fields and newest visible items."""

    key: str  # category slug or "all"
    title: str  # "<site> – <category name>"
    description: str
    site_url: str  # FEEDSVC_SITE_URL: the channel link
    site_title: str
    base_url: str  # FEEDSVC_BASE_URL, no trailing slash
    timezone: ZoneInfo
    last_modified: datetime  # aware; the instant Last-Modified carries (lastBuildDate/updated)
    max_age: int  # Cache-Control max-age, seconds: drives ttl and sy:updateFrequency
    items: tuple[Item, ...] = ()
    category: CategoryRef | None = None  # None for "all"
    hub_url: str | None = None  # WebSub hub to name inside the feed
    language: str = "vi"
    generator: str = "feedsvc"
    icon_url: str | None = None  # small square icon (JSON Feed favicon, Atom icon)
    logo_url: str | None = None  # larger logo (RSS image, Atom logo, JSON Feed icon)
    extra: dict[str, str] = field(default_factory=dict)

    def url(self, fmt: str) -> str:
        """The public URL of this feed in ``fmt`` (rss, atom, json, html)."""
        return f"{self.base_url}/feeds/{self.key}.{fmt}"
