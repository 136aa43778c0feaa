"""Writing articles: upserts in batches (only changed records are rewritten), deletion marks;
reading them one at a time or a page at a time in the order they changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session, selectinload

from feedsvc.store.models import (
    Article,
    ArticleCategory,
)

if TYPE_CHECKING:
    from feedsvc.ingest.records import ArticleRecord
from feedsvc.store._common import ALL, CHUNK
from feedsvc.store.feeds import mark_feeds_changed


def record_hash(record: ArticleRecord) -> str:
    """A digest of the normalised record: equal digests mean an identical repeat."""
    data = json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


class _Stored(NamedTuple):
    """What an upsert needs to know of an article already stored."""

    record_hash: str
    deleted_at: datetime | None
    updated_at: datetime | None
    revised_at: datetime | None
    slugs: list[str]


def item_updated(
    published_at: datetime, updated_at: datetime | None, revised_at: datetime | None
) -> datetime:
    """An item's updated time: the later of its ``updated_at`` (else ``published_at``) and the
    moment its last visible change was accepted (``revised_at``)."""
    given = updated_at or published_at
    return given if revised_at is None or revised_at <= given else revised_at


def revised_at(
    record: ArticleRecord, digest: str, old: _Stored | None, now: datetime
) -> datetime | None:
    """The ``revised_at`` to store with ``record`` (its digest ``digest``) replacing ``old``.

    ``now``, the moment of the change, when the record changes what readers see: any field but
    ``updated_at`` (an ``updated_at`` sent with it still wins when it is later, see
    :func:`item_updated`). Otherwise the stored value, kept; a new article has none.
    """
    if old is None:
        return None
    if old.record_hash == digest:
        return old.revised_at
    # The record with the stored updated_at hashes to the stored digest exactly when updated_at
    # is all that changed: nothing readers see (unknown fields never reach the record).
    if record_hash(dataclasses.replace(record, updated_at=old.updated_at)) == old.record_hash:
        return old.revised_at
    return now


def _article_row(
    record: ArticleRecord, digest: str, now: datetime, revised: datetime | None
) -> dict[str, object]:
    image = record.image
    return {
        "id": record.id,
        "url": record.url,
        "title": record.title,
        "summary": record.summary,
        "content_html": record.content_html,
        "author": record.author,
        "image_url": image.url if image else None,
        "image_caption": image.caption if image else None,
        "image_mime_type": image.mime_type if image else None,
        "image_length": image.length if image else None,
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "deleted_at": None,
        "modified_at": now,
        "record_hash": digest,
        "revised_at": revised,
    }


def upsert_articles(
    session: Session,
    records: Sequence[ArticleRecord],
    now: datetime,
    digests: Sequence[str] | None = None,
) -> list[str]:
    """Insert or replace articles (the last of a repeated id wins); mark their feeds changed.

    Returns, per record, ``created``, ``replaced``, ``unchanged`` or ``superseded``. The caller
    has checked that every category exists; ``digests``, when given, are the records'
    :func:`record_hash` computed beforehand (the importer does it in its worker processes).
    ``now`` is the moment of the change: a correction readers see is dated by it
    (:func:`revised_at`).
    """
    last_index = {record.id: i for i, record in enumerate(records)}
    existing = _existing_articles(session, list(last_index))
    statuses: list[str] = []
    rows_new: list[dict[str, object]] = []
    rows_changed: list[dict[str, object]] = []
    affected: set[str] = set()
    for i, record in enumerate(records):
        if last_index[record.id] != i:
            statuses.append("superseded")
            continue
        digest = record_hash(record) if digests is None else digests[i]
        old = existing.get(record.id)
        if old is not None and old.record_hash == digest and old.deleted_at is None:
            statuses.append("unchanged")
            continue
        row = _article_row(record, digest, now, revised_at(record, digest, old, now))
        if old is None:
            statuses.append("created")
            rows_new.append(row)
        else:
            statuses.append("created" if old.deleted_at is not None else "replaced")
            rows_changed.append(row)
            affected.update(old.slugs)
        affected.update(record.categories)
    if rows_new or rows_changed:
        _write_articles(session, rows_new, rows_changed, records, last_index)
        affected.add(ALL)
        mark_feeds_changed(session, sorted(affected))
    return statuses


_EXISTING = select(
    Article.id,
    Article.record_hash,
    Article.deleted_at,
    Article.updated_at,
    Article.revised_at,
)


def _existing_articles(session: Session, ids: list[str]) -> dict[str, _Stored]:
    """id -> what is stored of it (with its category slugs), for the ids already stored."""
    found: dict[str, _Stored] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for aid, digest, deleted_at, updated_at, revised in session.execute(
            _EXISTING.where(Article.id.in_(chunk))
        ):
            found[aid] = _Stored(digest, deleted_at, updated_at, revised, [])
        if found:
            links = select(ArticleCategory.article_id, ArticleCategory.category_slug).where(
                ArticleCategory.article_id.in_(chunk)
            )
            for aid, slug in session.execute(links):
                found[aid].slugs.append(slug)
    return found


def _write_articles(
    session: Session,
    rows_new: list[dict[str, object]],
    rows_changed: list[dict[str, object]],
    records: Sequence[ArticleRecord],
    last_index: dict[str, int],
) -> None:
    """Write article rows and replace their category links, with a few executemany calls."""
    # Core inserts on the tables (not the ORM's bulk path, which costs about half as much again
    # per row): the importer writes thousands of rows a second through here.
    if rows_new:
        session.execute(insert(cast(Table, Article.__table__)), rows_new)
    if rows_changed:
        changed_ids = [row["id"] for row in rows_changed]
        bound = [{**row, "b_id": row["id"]} for row in rows_changed]
        table = cast(Table, Article.__table__)
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in rows_changed[0] if k != "id"})
        )
        session.execute(stmt, bound)
        for start in range(0, len(changed_ids), CHUNK):
            chunk = changed_ids[start : start + CHUNK]
            session.execute(delete(ArticleCategory).where(ArticleCategory.article_id.in_(chunk)))
    links = []
    for row in rows_new + rows_changed:
        record = records[last_index[str(row["id"])]]
        for position, slug in enumerate(record.categories):
            links.append(
                {
                    "category_slug": slug,
                    "article_id": record.id,
                    "position": position,
                    "published_at": record.published_at,
                    "deleted": False,
                }
            )
    if links:
        session.execute(insert(cast(Table, ArticleCategory.__table__)), links)


def get_article(session: Session, article_id: str) -> Article | None:
    """The stored (not deleted) article with its category links, or None."""
    article = session.scalar(
        select(Article).where(Article.id == article_id).options(selectinload(Article.links))
    )
    if article is None or article.deleted_at is not None:
        return None
    return article


def delete_article(session: Session, article_id: str, now: datetime) -> bool:
    """Mark the article deleted and its feeds changed; False if unknown or already deleted."""
    article = get_article(session, article_id)
    if article is None:
        return False
    article.deleted_at = now
    article.modified_at = now
    session.execute(
        update(ArticleCategory).where(ArticleCategory.article_id == article_id).values(deleted=True)
    )
    session.flush()
    mark_feeds_changed(session, [link.category_slug for link in article.links] + [ALL])
    return True


def count_articles(session: Session) -> int:
    """How many articles are stored and not deleted."""
    return session.scalar(select(func.count()).where(Article.deleted_at.is_(None))) or 0


def article_version(session: Session, article_id: str, *, lock: bool = False) -> str | None:
    """The record hash of the stored, not deleted, article; None when unknown or deleted.

    ``lock`` holds the row (deleted or not) until the transaction ends (``FOR UPDATE`` on
    PostgreSQL; SQLite's write transactions already run one at a time), so that a write
    conditional on this version cannot race another write of the same article.
    """
    stmt = select(Article.record_hash, Article.deleted_at).where(Article.id == article_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return None if row is None or row.deleted_at is not None else row.record_hash


def articles_page(
    session: Session,
    *,
    category: str | None,
    changed_since: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Article]:
    """Stored, not deleted, articles in the order they last changed: by (modified_at, id).

    ``category``: only the articles in it; ``changed_since``: only those that changed at or
    after that instant; ``after``: only those past that (modified_at, id) position, the last
    one of the previous page. An article that changes while a client pages moves to the end,
    so it is seen again rather than skipped.
    """
    stmt = (
        select(Article)
        .where(Article.deleted_at.is_(None))
        .options(selectinload(Article.links))
        .order_by(Article.modified_at, Article.id)
        .limit(limit)
    )
    if category is not None:
        # (category_slug, article_id) is the links' primary key: at most one row per article.
        link = ArticleCategory
        stmt = stmt.join(link, (link.article_id == Article.id) & (link.category_slug == category))
    if changed_since is not None:
        stmt = stmt.where(Article.modified_at >= changed_since)
    if after is not None:
        stmt = stmt.where(tuple_(Article.modified_at, Article.id) > after)
    return list(session.scalars(stmt))


def every_article(session: Session, chunk: int = 500) -> Iterator[Article]:
    """Every stored, not deleted, article with its category links, by (published_at, id),
    fetched ``chunk`` rows at a time (a server-side cursor on PostgreSQL): an export of any size
    holds one chunk in memory."""
    stmt = (
        select(Article)
        .where(Article.deleted_at.is_(None))
        .options(selectinload(Article.links))
        .order_by(Article.published_at, Article.id)
        .execution_options(yield_per=chunk)
    )
    yield from session.scalars(stmt)


def count_category_articles(session: Session, slug: str) -> int:
    """How many stored, not deleted, articles are in category ``slug``."""
    stmt = select(func.count()).where(
        ArticleCategory.category_slug == slug, ArticleCategory.deleted.is_(False)
    )
    return session.scalar(stmt) or 0
