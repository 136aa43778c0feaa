"""plain text: markup in stored plain-text fields turned into text, as ingest does now

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 12:00:00

Titles, summaries, authors, photo captions, category names and descriptions; a data migration,
no schema change. Each stored value goes through the function ingest uses
(:func:`feedsvc.ingest.plaintext.plain_text`), so a stored article equals what sending its record
again would store: its record hash is computed again over the converted fields (the hash covers
every field, and is the key that lets regeneration reuse an item's rendered bytes). A converted
row gets a new ``modified_at`` (a category a new ``updated_at``), which changes the fingerprint of
every feed showing it, and every feed is marked changed, so the next regeneration renders the
feeds whose text changed and keeps the others' bytes.

A required value with nothing left once converted (a title or a category name that was markup
only) is kept as it is and logged: resend that record with a plain-text title.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from feedsvc.ingest.plaintext import plain_text
from feedsvc.ingest.records import ArticleRecord, ImageRecord
from feedsvc.store.articles import record_hash
from feedsvc.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("feedsvc.store.migrations")
BATCH = 500

# The columns this migration reads and writes, as revision 0002 left them (not the models of a
# later version, which may have more).
_ARTICLES = sa.table(
    "articles",
    sa.column("id", sa.String()),
    sa.column("url", sa.Text()),
    sa.column("title", sa.Text()),
    sa.column("summary", sa.Text()),
    sa.column("content_html", sa.Text()),
    sa.column("author", sa.Text()),
    sa.column("image_url", sa.Text()),
    sa.column("image_caption", sa.Text()),
    sa.column("image_mime_type", sa.String()),
    sa.column("image_length", sa.BigInteger()),
    sa.column("published_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("modified_at", UTCDateTime()),
    sa.column("record_hash", sa.String()),
)
_LINKS = sa.table(
    "article_categories",
    sa.column("article_id", sa.String()),
    sa.column("category_slug", sa.String()),
    sa.column("position", sa.Integer()),
)
_CATEGORIES = sa.table(
    "categories",
    sa.column("slug", sa.String()),
    sa.column("name", sa.Text()),
    sa.column("description", sa.Text()),
    sa.column("updated_at", UTCDateTime()),
)
_FEED_STATES = sa.table("feed_states", sa.column("change_seq", sa.BigInteger()))
_COUNTERS = sa.table(
    "counters", sa.column("name", sa.String()), sa.column("value", sa.BigInteger())
)
_TEXT_FIELDS = ("title", "summary", "author", "image_caption")
_BOOKKEEPING = ("record_hash", "modified_at")


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    articles = _convert_articles(bind, now)
    categories = _convert_categories(bind, now)
    if articles or categories:
        _mark_every_feed_changed(bind)
    log.info("plain text: converted %d articles and %d categories", articles, categories)


def downgrade() -> None:
    """Nothing to undo in the schema; the markup removed from the text is not restored."""


def _optional(value: str | None) -> str | None:
    """An optional plain-text field as ingest stores it: converted, blank = absent."""
    return (plain_text(value) or None) if value is not None else None


def _required(value: str, what: str) -> str:
    """A required field converted; kept as it is when nothing would be left."""
    converted = plain_text(value)
    if converted:
        return converted
    log.warning("plain text: %s has no text once its markup is removed; kept as it is", what)
    return value


def _convert_articles(bind: sa.Connection, now: datetime) -> int:
    """Convert every stored article, a batch at a time; how many changed."""
    changed = 0
    last = ""
    while True:
        rows = bind.execute(
            sa.select(_ARTICLES).where(_ARTICLES.c.id > last).order_by(_ARTICLES.c.id).limit(BATCH)
        ).all()
        if not rows:
            return changed
        last = rows[-1].id
        updates = [update for row in rows if (update := _converted_article(row)) is not None]
        if updates:
            _write_articles(bind, rows, updates, now)
        changed += len(updates)


def _converted_article(row: sa.Row[Any]) -> dict[str, Any] | None:
    """The converted text fields of one row, or None when converting changes nothing."""
    fields = {
        "title": _required(row.title, f"the title of article {row.id!r}"),
        "summary": _optional(row.summary),
        "author": _optional(row.author),
        "image_caption": _optional(row.image_caption),
    }
    if all(fields[name] == getattr(row, name) for name in _TEXT_FIELDS):
        return None
    return {"b_id": row.id, **fields}


def _write_articles(
    bind: sa.Connection, rows: Sequence[sa.Row[Any]], updates: list[dict[str, Any]], now: datetime
) -> None:
    """Store converted fields with the record hash a resend of the record would have."""
    by_id = {row.id: row for row in rows}
    categories = _categories_of(bind, [update["b_id"] for update in updates])
    for update in updates:
        row = by_id[update["b_id"]]
        record = _record(row, update, categories.get(row.id, ()))
        update["record_hash"] = record_hash(record)
        update["modified_at"] = now
    statement = (
        sa.update(_ARTICLES)
        .where(_ARTICLES.c.id == sa.bindparam("b_id"))
        .values(
            {name: sa.bindparam(name) for name in (*_TEXT_FIELDS, "record_hash", "modified_at")}
        )
    )
    bind.execute(statement, updates)


def _categories_of(bind: sa.Connection, ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each article's category slugs in their order, as the record listed them."""
    found: dict[str, list[str]] = {}
    links = (
        sa.select(_LINKS.c.article_id, _LINKS.c.category_slug)
        .where(_LINKS.c.article_id.in_(ids))
        .order_by(_LINKS.c.article_id, _LINKS.c.position)
    )
    for article_id, slug in bind.execute(links):
        found.setdefault(article_id, []).append(slug)
    return {article_id: tuple(slugs) for article_id, slugs in found.items()}


def _record(row: sa.Row[Any], fields: dict[str, Any], categories: tuple[str, ...]) -> ArticleRecord:
    """The record ingest would build from this row's record sent again."""
    image = None
    if row.image_url is not None:
        image = ImageRecord(
            url=row.image_url,
            caption=fields["image_caption"],
            mime_type=row.image_mime_type,
            length=row.image_length,
        )
    return ArticleRecord(
        id=row.id,
        url=row.url,
        title=fields["title"],
        summary=fields["summary"],
        content_html=row.content_html,
        author=fields["author"],
        categories=categories,
        image=image,
        published_at=row.published_at,
        updated_at=row.updated_at,
    )


def _convert_categories(bind: sa.Connection, now: datetime) -> int:
    """Convert every category's name and description; how many changed."""
    updates = []
    for slug, name, description in bind.execute(
        sa.select(_CATEGORIES.c.slug, _CATEGORIES.c.name, _CATEGORIES.c.description)
    ):
        new_name = _required(name, f"the name of category {slug!r}")
        new_description = _optional(description)
        if (new_name, new_description) != (name, description):
            updates.append(
                {
                    "b_slug": slug,
                    "name": new_name,
                    "description": new_description,
                    "updated_at": now,
                }
            )
    if updates:
        bind.execute(
            sa.update(_CATEGORIES)
            .where(_CATEGORIES.c.slug == sa.bindparam("b_slug"))
            .values(
                name=sa.bindparam("name"),
                description=sa.bindparam("description"),
                updated_at=sa.bindparam("updated_at"),
            ),
            updates,
        )
    return len(updates)


def _mark_every_feed_changed(bind: sa.Connection) -> None:
    """What store.mark_feeds_changed(session, None) does: bump the change counter, and give
    every feed that sequence, so the next regeneration looks at each of them."""
    counter = _COUNTERS.c.name == "changes"
    bumped = bind.execute(sa.update(_COUNTERS).where(counter).values(value=_COUNTERS.c.value + 1))
    if bumped.rowcount == 0:
        bind.execute(sa.insert(_COUNTERS).values(name="changes", value=1))
    seq = bind.execute(sa.select(_COUNTERS.c.value).where(counter)).scalar_one()
    bind.execute(sa.update(_FEED_STATES).values(change_seq=seq))
