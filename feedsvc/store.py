"""Every query of feedsvc. Functions take a Session; "not found" is None; no Flask imports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from feedsvc.models import (
    Article,
    ArticleCategory,
    Category,
    Counter,
    FeedSnapshot,
    FeedState,
    Lease,
    Meta,
)

if TYPE_CHECKING:
    from feedsvc.records import ArticleRecord, CategoryRecord

ALL = "all"
CHUNK = 500  # rows per IN (...) query: well under SQLite's variable limit


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (their results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount


# --- meta and counters -------------------------------------------------------------------------


def get_meta(session: Session, key: str) -> str | None:
    """The recorded value of ``key``, or None."""
    return session.scalar(select(Meta.value).where(Meta.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    """Record ``value`` under ``key``."""
    if _rowcount(session.execute(update(Meta).where(Meta.key == key).values(value=value))) == 0:
        session.execute(insert(Meta).values(key=key, value=value))


def read_counter(session: Session, name: str) -> int:
    """The current value of a counter (0 when never bumped)."""
    return session.scalar(select(Counter.value).where(Counter.name == name)) or 0


def bump_counter(session: Session, name: str) -> int:
    """Add one to a counter inside the caller's transaction and return the new value."""
    if not _bump(session, name):
        return 1
    return session.scalar(select(Counter.value).where(Counter.name == name)) or 0


_BUMP = update(Counter).where(Counter.name == bindparam("b_name")).values(value=Counter.value + 1)


def _bump(session: Session, name: str) -> bool:
    """Add one to a counter (created at 1 if new); False when it was created."""
    if _rowcount(session.execute(_BUMP, {"b_name": name})) == 0:
        session.execute(insert(Counter).values(name=name, value=1))
        return False
    return True


# --- categories --------------------------------------------------------------------------------


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


# --- articles ----------------------------------------------------------------------------------


def record_hash(record: ArticleRecord) -> str:
    """A digest of the normalised record: equal digests mean an identical repeat."""
    data = json.dumps(record.to_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def _article_row(record: ArticleRecord, digest: str, now: datetime) -> dict[str, object]:
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
        if old is not None and old[0] == digest and old[1] is None:
            statuses.append("unchanged")
            continue
        row = _article_row(record, digest, now)
        if old is None:
            statuses.append("created")
            rows_new.append(row)
        else:
            statuses.append("created" if old[1] is not None else "replaced")
            rows_changed.append(row)
            affected.update(old[2])
        affected.update(record.categories)
    if rows_new or rows_changed:
        _write_articles(session, rows_new, rows_changed, records, last_index)
        affected.add(ALL)
        mark_feeds_changed(session, sorted(affected))
    return statuses


def _existing_articles(
    session: Session, ids: list[str]
) -> dict[str, tuple[str, datetime | None, list[str]]]:
    """id -> (record hash, deleted_at, category slugs) for the ids already stored."""
    found: dict[str, tuple[str, datetime | None, list[str]]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for aid, digest, deleted_at in session.execute(
            select(Article.id, Article.record_hash, Article.deleted_at).where(Article.id.in_(chunk))
        ):
            found[aid] = (digest, deleted_at, [])
        if found:
            links = select(ArticleCategory.article_id, ArticleCategory.category_slug).where(
                ArticleCategory.article_id.in_(chunk)
            )
            for aid, slug in session.execute(links):
                found[aid][2].append(slug)
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


def visible_articles(session: Session, key: str, now: datetime, limit: int) -> list[Article]:
    """The newest ``limit`` visible articles of a feed (a category slug or ``all``).

    Visible: not deleted and published no later than ``now`` (embargoed ones wait). Ties on the
    publication time are broken by id, the same on every store.
    """
    if key == ALL:
        stmt = (
            select(Article)
            .where(Article.deleted_at.is_(None), Article.published_at <= now)
            .order_by(Article.published_at.desc(), Article.id.desc())
        )
    else:
        link = ArticleCategory
        ids = (
            select(link.article_id)
            .where(link.category_slug == key, link.deleted.is_(False), link.published_at <= now)
            .order_by(link.published_at.desc(), link.article_id.desc())
            .limit(limit)
        )
        stmt = (
            select(Article)
            .where(Article.id.in_(ids))
            .order_by(Article.published_at.desc(), Article.id.desc())
        )
    stmt = stmt.limit(limit).options(selectinload(Article.links))
    return list(session.scalars(stmt))


class LinkRow(NamedTuple):
    """One category of an article, as ``Article.links`` holds it."""

    category_slug: str


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """A visible article read with Core rather than as an ORM object (no identity map, no
    instrumentation: regeneration reads thousands per run); the model's own attribute names."""

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
    links: tuple[LinkRow, ...]


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
    """The articles :func:`visible_articles` finds, in its order, as plain :class:`ArticleRow`s."""
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


# --- change tracking ---------------------------------------------------------------------------


def _ensure_feed_states(session: Session, keys: Iterable[str]) -> None:
    wanted = set(keys)
    have = set(session.scalars(select(FeedState.key).where(FeedState.key.in_(wanted))))
    missing = sorted(wanted - have)
    if missing:
        session.execute(
            insert(FeedState), [{"key": k, "change_seq": 0, "rendered_seq": -1} for k in missing]
        )


def mark_feeds_changed(session: Session, keys: Sequence[str] | None) -> int:
    """Mark feeds (None: every feed) as changed; returns the change sequence number."""
    seq = bump_counter(session, "changes")
    stmt = update(FeedState).values(change_seq=seq)
    if keys is not None:
        stmt = stmt.where(FeedState.key.in_(set(keys)))
    session.execute(stmt)
    return seq


def feed_keys(session: Session) -> list[str]:
    """Every feed: ``all`` and each category."""
    return [ALL, *sorted(category_slugs(session))]


def dirty_feeds(session: Session) -> dict[str, int]:
    """Feeds changed since they were last rendered: key -> the change sequence to record."""
    _ensure_feed_states(session, feed_keys(session))
    stmt = select(FeedState.key, FeedState.change_seq).where(
        FeedState.change_seq > FeedState.rendered_seq
    )
    return dict(session.execute(stmt).all())


_MARK_RENDERED = (
    update(FeedState)
    .where(FeedState.key == bindparam("b_key"), FeedState.rendered_seq < bindparam("b_seq"))
    .values(rendered_seq=bindparam("b_seq"))
)


def mark_rendered(session: Session, key: str, seq: int) -> None:
    """Record that ``key`` has been rendered up to change sequence ``seq``."""
    session.execute(_MARK_RENDERED, {"b_key": key, "b_seq": seq})


# --- snapshots ---------------------------------------------------------------------------------


def snapshot_versions(session: Session) -> dict[str, int]:
    """key -> version of every stored snapshot (cheap: no bundles)."""
    return dict(session.execute(select(FeedSnapshot.key, FeedSnapshot.version)).all())


@dataclass(frozen=True)
class SnapshotHead:
    """A stored snapshot's version and validators, without its bytes."""

    version: int
    fingerprint: str
    last_modified: datetime
    lm_exact: bool


_SNAPSHOT_HEAD = select(
    FeedSnapshot.version,
    FeedSnapshot.fingerprint,
    FeedSnapshot.last_modified,
    FeedSnapshot.lm_exact,
).where(FeedSnapshot.key == bindparam("b_key"))


def snapshot_head(session: Session, key: str) -> SnapshotHead | None:
    """Version, fingerprint and Last-Modified of a feed's stored snapshot, or None."""
    row = session.execute(_SNAPSHOT_HEAD, {"b_key": key}).first()
    return None if row is None else SnapshotHead(*row)


def snapshot_bundle(session: Session, key: str) -> bytes | None:
    """The stored bundle of a feed's snapshot (its bytes only), or None."""
    return session.scalar(select(FeedSnapshot.bundle).where(FeedSnapshot.key == key))


def get_snapshot(session: Session, key: str) -> FeedSnapshot | None:
    """The stored snapshot of a feed, or None."""
    return session.get(FeedSnapshot, key)


def snapshot_bundles(session: Session, keys: Sequence[str]) -> list[bytes]:
    """The stored bundles of the given feeds (bytes only, no row objects)."""
    return list(session.scalars(select(FeedSnapshot.bundle).where(FeedSnapshot.key.in_(keys))))


def load_snapshots(session: Session, keys: Iterable[str]) -> list[FeedSnapshot]:
    """The stored snapshots of the given feeds."""
    return list(session.scalars(select(FeedSnapshot).where(FeedSnapshot.key.in_(list(keys)))))


def save_snapshot(session: Session, snapshot: FeedSnapshot, previous_version: int | None) -> bool:
    """Store a new snapshot version atomically; False if another render got there first.

    The compare-and-set on the version means an older render can never overwrite a newer one.
    """
    values = {
        "version": snapshot.version,
        "fingerprint": snapshot.fingerprint,
        "last_modified": snapshot.last_modified,
        "lm_exact": snapshot.lm_exact,
        "created_at": snapshot.created_at,
        "bundle": snapshot.bundle,
    }
    if previous_version is None:
        try:
            with session.begin_nested():
                session.execute(_INSERT_SNAPSHOT, {"key": snapshot.key, **values})
        except IntegrityError:
            return False
    else:
        params = {"b_key": snapshot.key, "b_version": previous_version, **values}
        if _rowcount(session.execute(_REPLACE_SNAPSHOT, params)) != 1:
            return False
    # Announced in the same transaction: every worker loads a saved snapshot even when the
    # process that saved it dies before the end of its run.
    _bump(session, "snapshots")
    return True


# Built once: a full regeneration saves a hundred snapshots.
_INSERT_SNAPSHOT = insert(FeedSnapshot)
_REPLACE_SNAPSHOT = (
    update(FeedSnapshot)
    .where(
        FeedSnapshot.key == bindparam("b_key"),
        FeedSnapshot.version == bindparam("b_version"),
    )
    .values(
        {
            name: bindparam(name)
            for name in ("version", "fingerprint", "last_modified", "lm_exact", "created_at")
        }
        | {"bundle": bindparam("bundle")}
    )
)


# --- leases ------------------------------------------------------------------------------------


def acquire_lease(
    session: Session, name: str, holder: str, now: datetime, expires_at: datetime
) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while someone else holds it."""
    stmt = (
        update(Lease)
        .where(Lease.name == name)
        .where((Lease.holder == holder) | (Lease.expires_at <= now))
        .values(holder=holder, expires_at=expires_at)
    )
    if _rowcount(session.execute(stmt)) == 1:
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(Lease).values(name=name, holder=holder, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    """Give the lease up at once, so another process can take over without waiting."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def check_connection(session: Session) -> None:
    """Raise if the database cannot answer a trivial query."""
    session.execute(select(1))
