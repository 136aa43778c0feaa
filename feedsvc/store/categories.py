"""Categories: list, look up, insert or replace."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedsvc.store.models import (
    Category,
)

if TYPE_CHECKING:
    from feedsvc.ingest.records import CategoryRecord
from feedsvc.store._common import ALL
from feedsvc.store.feeds import _ensure_feed_states, mark_feeds_changed


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
