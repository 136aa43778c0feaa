"""Reading feeds' articles: the newest visible ones as :class:`ArticleRow`s (the one shape
regeneration reads an article in); embargoes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from feedsvc.store._common import ALL
from feedsvc.store.models import Article, ArticleCategory


class LinkRow(NamedTuple):
    """One category of an article, in the article's order (``Article.links``)."""

    category_slug: str


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """A stored article as feeds read it: what :func:`~feedsvc.publish.feed_builder.build_item`
    turns into a feed item. Read with Core rather than as an ORM object (no identity map, no
    instrumentation: regeneration reads thousands per run), under the model's attribute names."""

    id: str
    url: str
    title: str
    summary: str | None
    content_html: str | None
    author: str | None
    image_url: str | None
    image_caption: str | None
    image_mime_type: str | None
    image_length: int | None
    published_at: datetime
    updated_at: datetime | None
    modified_at: datetime
    record_hash: str
    links: tuple[LinkRow, ...]
    revised_at: datetime | None = None  # see Article.revised_at


def _visible_ids(category: bool) -> Any:
    """The ids of a feed's newest ``:limit`` visible articles at ``:now`` (of ``:key``)."""
    if not category:
        return (
            select(Article.id)
            .where(Article.deleted_at.is_(None), Article.published_at <= bindparam("now"))
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(bindparam("limit"))
        )
    # One range scan of ix_article_categories_feed, whatever the archive's size.
    link = ArticleCategory
    return (
        select(link.article_id)
        .where(
            link.category_slug == bindparam("key"),
            link.deleted.is_(False),
            link.published_at <= bindparam("now"),
        )
        .order_by(link.published_at.desc(), link.article_id.desc())
        .limit(bindparam("limit"))
    )


def _rows_statements(category: bool) -> tuple[Any, Any]:
    """The two queries of :func:`visible_article_rows`: the articles, and their categories."""
    ids = _visible_ids(category)
    articles = (
        select(
            Article.id,
            Article.url,
            Article.title,
            Article.summary,
            Article.content_html,
            Article.author,
            Article.image_url,
            Article.image_caption,
            Article.image_mime_type,
            Article.image_length,
            Article.published_at,
            Article.updated_at,
            Article.modified_at,
            Article.record_hash,
            Article.revised_at,
        )
        .where(Article.id.in_(ids))
        .order_by(Article.published_at.desc(), Article.id.desc())
    )
    links = (
        select(ArticleCategory.article_id, ArticleCategory.category_slug)
        .where(ArticleCategory.article_id.in_(ids))
        .order_by(ArticleCategory.article_id, ArticleCategory.position)
    )
    return articles, links


# Built once: regeneration runs them for every feed, and building a statement costs more than
# SQLite takes to answer it.
_ROWS_OF_ALL = _rows_statements(category=False)
_ROWS_OF_CATEGORY = _rows_statements(category=True)


def visible_article_rows(session: Session, key: str, now: datetime, limit: int) -> list[ArticleRow]:
    """The newest ``limit`` visible articles of a feed (a category slug or ``all``), newest first.

    Visible: not deleted and published no later than ``now`` (embargoed ones wait). Ties on the
    publication time are broken by id, the same on every store.
    """
    articles, links = _ROWS_OF_ALL if key == ALL else _ROWS_OF_CATEGORY
    params = {"key": key, "now": now, "limit": limit}
    found: dict[str, list[LinkRow]] = {}
    for aid, slug in session.execute(links, params):
        found.setdefault(aid, []).append(LinkRow(slug))
    return [
        ArticleRow(**row._mapping, links=tuple(found.get(row.id, ())))
        for row in session.execute(articles, params)
    ]


def embargo_lifted(session: Session, after: datetime, until: datetime) -> set[str]:
    """Feeds with an article whose embargo ended in (after, until]: they have a new item."""
    # Driven from articles: ix_articles_visible (deleted_at, published_at) finds the few rows of
    # the window at once, where the links' index (category first) would scan every link on each
    # run. A link's published_at is its article's, and both are marked on delete.
    stmt = (
        select(ArticleCategory.category_slug)
        .join(Article, Article.id == ArticleCategory.article_id)
        .where(
            Article.deleted_at.is_(None),
            Article.published_at > after,
            Article.published_at <= until,
        )
        .distinct()
    )
    keys = set(session.scalars(stmt))
    return keys | {ALL} if keys else keys


def next_embargo(session: Session, now: datetime) -> datetime | None:
    """When the next embargoed article becomes visible, or None."""
    return session.scalar(
        select(func.min(Article.published_at)).where(
            Article.deleted_at.is_(None), Article.published_at > now
        )
    )
