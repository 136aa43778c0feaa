"""Categories: list, look up, insert or replace, delete."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedsvc.store.models import (
    ArticleCategory,
    Category,
    FeedSnapshot,
    FeedState,
    WebSubDelivery,
    WebSubSubscription,
)

if TYPE_CHECKING:
    from feedsvc.ingest.records import CategoryRecord
from feedsvc.store._common import ALL
from feedsvc.store.articles import count_category_articles
from feedsvc.store.feeds import _ensure_feed_states, mark_feeds_changed
from feedsvc.store.meta import _bump, get_meta, set_meta

# When a category was last deleted: the index page and the OPML list changed then, though no
# remaining category did (their Last-Modified must move, or a cache keeps the old list).
CATEGORY_DELETED_AT = "category_deleted_at"


def list_categories(session: Session) -> list[Category]:
    """Every category, by slug."""
    return list(session.scalars(select(Category).order_by(Category.slug)))


def get_category(session: Session, slug: str) -> Category | None:
    """The category ``slug``, or None."""
    return session.get(Category, slug)


def category_slugs(session: Session) -> set[str]:
    """The slugs of every category."""
    return set(session.scalars(select(Category.slug)))


def upsert_category(session: Session, record: CategoryRecord, now: datetime) -> str:
    """Insert or replace one category; returns ``created``, ``replaced`` or ``unchanged``."""
    existing = session.get(Category, record.slug)
    if existing is None:
        session.add(
            Category(
                slug=record.slug,
                name=record.name,
                description=record.description,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        _ensure_feed_states(session, [record.slug, ALL])
        mark_feeds_changed(session, [record.slug])
        return "created"
    if (existing.name, existing.description) == (record.name, record.description):
        return "unchanged"
    existing.name = record.name
    existing.description = record.description
    existing.updated_at = now
    session.flush()
    # A category's name appears in every item that carries it, in every feed.
    mark_feeds_changed(session, None)
    return "replaced"


def delete_category(session: Session, slug: str, now: datetime) -> int | None:
    """Delete category ``slug`` and its feeds; None when unknown, else the articles still in it.

    Only a category without stored articles is deleted (a non-zero count is returned and nothing
    is changed). Its feeds go with it: their snapshots (every worker drops them at its next
    refresh, moved by the ``snapshots`` counter), their change tracking, and the WebSub
    subscriptions to them. The links of deleted articles to it go too: a deleted article that is
    sent again names its categories anew.
    """
    category = session.scalar(select(Category).where(Category.slug == slug).with_for_update())
    if category is None:
        return None
    remaining = count_category_articles(session, slug)
    if remaining:
        return remaining
    session.execute(delete(ArticleCategory).where(ArticleCategory.category_slug == slug))
    subscriptions = select(WebSubSubscription.id).where(WebSubSubscription.feed_key == slug)
    session.execute(delete(WebSubDelivery).where(WebSubDelivery.subscription_id.in_(subscriptions)))
    session.execute(delete(WebSubSubscription).where(WebSubSubscription.feed_key == slug))
    session.execute(delete(FeedSnapshot).where(FeedSnapshot.key == slug))
    session.execute(delete(FeedState).where(FeedState.key == slug))
    session.delete(category)
    session.flush()
    set_meta(session, CATEGORY_DELETED_AT, now.isoformat())
    _bump(session, "snapshots")
    return 0


def category_deleted_at(session: Session) -> datetime | None:
    """When a category was last deleted, or None if none ever was."""
    value = get_meta(session, CATEGORY_DELETED_AT)
    return None if value is None else datetime.fromisoformat(value)
