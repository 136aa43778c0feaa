"""Build the plain :class:`~feedsvc.render.feed.Feed` object of a feed from stored rows.

The one converter from the stored article (:class:`~feedsvc.store.ArticleRow`) to the feed item
(:class:`~feedsvc.render.feed.Item`) that renderers get: :func:`build_item`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from feedsvc.config import Settings
from feedsvc.render.feed import CategoryRef, Feed, Image, Item
from feedsvc.store.articles import item_updated
from feedsvc.store.models import Category
from feedsvc.store.reading import ArticleRow

# Bump when rendering changes, so every feed is rendered again with the new code.
RENDERER_VERSION = "4"


def tag_uri(authority: str, article_id: str) -> str:
    """The item id of an article: ``tag:AUTHORITY:article/ID`` (RFC 4151), never changing."""
    return f"tag:{authority}:article/{article_id}"


def fingerprint(
    settings: Settings,
    category: Category | None,
    articles: Sequence[ArticleRow],
    names: Mapping[str, str],
) -> str:
    """A digest of everything a feed shows: equal digests render equal bytes."""
    data = {
        "renderer": RENDERER_VERSION,
        "settings": settings.fingerprint(),
        "category": None if category is None else [category.name, category.description],
        "items": [
            [
                a.id,
                a.modified_at.isoformat(),
                [[link.category_slug, names.get(link.category_slug)] for link in a.links],
            ]
            for a in articles
        ],
    }
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def build_item(settings: Settings, article: ArticleRow, names: Mapping[str, str]) -> Item:
    """One article as a feed item, its times in the configured zone."""
    tz = settings.timezone
    published = article.published_at.astimezone(tz)
    image = None
    if article.image_url:
        image = Image(
            url=article.image_url,
            caption=article.image_caption,
            mime_type=article.image_mime_type,
            length=article.image_length,
        )
    updated = item_updated(article.published_at, article.updated_at, article.revised_at)
    return Item(
        id=tag_uri(settings.tag_authority, article.id),
        article_id=article.id,
        url=article.url,
        title=article.title,
        published=published,
        updated=updated.astimezone(tz),
        summary=article.summary,
        content_html=article.content_html,
        author=article.author,
        categories=tuple(
            CategoryRef(link.category_slug, names.get(link.category_slug, link.category_slug))
            for link in article.links
        ),
        image=image,
        record_digest=_item_digest(article),
    )


def _item_digest(article: ArticleRow) -> str:
    """What the item is built from, as one digest: the record's, and the moment of its last
    correction (which moves the item's updated time without changing the record)."""
    if article.revised_at is None:
        return article.record_hash
    return f"{article.record_hash}:{article.revised_at.isoformat()}"


def _item(
    settings: Settings,
    article: ArticleRow,
    names: Mapping[str, str],
    built: dict[tuple[str, datetime], Item] | None,
) -> Item:
    """:func:`build_item`, or the item built before from the same row version."""
    if built is None:
        return build_item(settings, article, names)
    # Every write of an article sets modified_at, so (id, modified_at) names one row version.
    version = (article.id, article.modified_at)
    item = built.get(version)
    if item is None:
        item = built[version] = build_item(settings, article, names)
    return item


def build_feed(
    settings: Settings,
    key: str,
    category: Category | None,
    articles: Sequence[ArticleRow],
    names: Mapping[str, str],
    last_modified: datetime,
    built: dict[tuple[str, datetime], Item] | None = None,
) -> Feed:
    """The feed object of a category (or of ``all`` when category is None).

    ``built`` holds items already built with the same settings and names, by article id and
    modification time (an article is in its categories' feeds and in ``all``); new ones are
    added to it.
    """
    site = settings.site_title
    if category is None:
        title = f"{site} – Tất cả tin"
        description = f"{site}: tin mới nhất từ mọi chuyên mục"
        ref = None
    else:
        title = f"{site} – {category.name}"
        description = category.description or title
        ref = CategoryRef(category.slug, category.name)
    hub = settings.websub_hub
    return Feed(
        key=key,
        title=title,
        description=description,
        site_url=settings.site_url,
        site_title=site,
        base_url=settings.base_url,
        timezone=settings.timezone,
        last_modified=last_modified.astimezone(settings.timezone),
        max_age=settings.cache_max_age,
        items=tuple(_item(settings, a, names, built) for a in articles),
        category=ref,
        hub_url=f"{settings.base_url}/websub" if hub == "self" else hub,
        icon_url=f"{settings.base_url}/static/icon-64.png",
        logo_url=f"{settings.base_url}/static/icon-512.png",
    )
