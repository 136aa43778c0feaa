"""Build the plain :class:`~feedsvc.feed.Feed` object of a feed from stored rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from feedsvc.config import Settings
from feedsvc.feed import CategoryRef, Feed, Image, Item
from feedsvc.models import Article, Category

# Bump when rendering changes, so every feed is rendered again with the new code.
RENDERER_VERSION = "2"


def tag_uri(authority: str, article_id: str) -> str:
    """The item id of an article: ``tag:AUTHORITY:article/ID`` (RFC 4151), never changing."""
    return f"tag:{authority}:article/{article_id}"


def fingerprint(
    settings: Settings,
    category: Category | None,
    articles: Sequence[Article],
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


def build_item(settings: Settings, article: Article, names: Mapping[str, str]) -> Item:
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
    return Item(
        id=tag_uri(settings.tag_authority, article.id),
        article_id=article.id,
        url=article.url,
        title=article.title,
        published=published,
        updated=(article.updated_at or article.published_at).astimezone(tz),
        summary=article.summary,
        content_html=article.content_html,
        author=article.author,
        categories=tuple(
            CategoryRef(link.category_slug, names.get(link.category_slug, link.category_slug))
            for link in article.links
        ),
        image=image,
    )


def build_feed(
    settings: Settings,
    key: str,
    category: Category | None,
    articles: Sequence[Article],
    names: Mapping[str, str],
    last_modified: datetime,
) -> Feed:
    """The feed object of a category (or of ``all`` when category is None)."""
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
        items=tuple(build_item(settings, a, names) for a in articles),
        category=ref,
        hub_url=f"{settings.base_url}/websub" if hub == "self" else hub,
        icon_url=f"{settings.base_url}/static/icon-64.png",
        logo_url=f"{settings.base_url}/static/icon-512.png",
    )
