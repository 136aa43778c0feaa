"""Storing incoming records: validation, category checks and the upsert, one code path for the
CLI importer and the ingest API. A bad record is rejected with its reasons; the good ones around
it are stored."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.ingest.records import (
    ArticleRecord,
    CategoryRecord,
    FieldError,
    ImageRecord,
    RecordError,
    _Errors,
    _timestamp,
    clean_text,
    parse_article,
    parse_category,
)
from feedsvc.ingest.strictjson import JSONError, loads_strict
from feedsvc.store.db import Database
from feedsvc.store.models import Article, Category

P = ParamSpec("P")
# A write's condition on the article's stored version (its record hash; None: no such article,
# or deleted): True lets the write go on. The ingest API builds them from If-Match/If-None-Match.
Precondition = Callable[[str | None], bool]
T = TypeVar("T")
log = logging.getLogger(__name__)
CONFLICT_RETRIES = 3


def retry_on_conflict(func: Callable[P, T]) -> Callable[P, T]:
    """Run a write again when a concurrent writer got there first.

    Two first-time PUTs of one id at once: on PostgreSQL the loser's INSERT fails on the primary
    key; run again, it sees the row and replaces it. Deadlocks are retried the same way.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return func(*args, **kwargs)
            except (IntegrityError, OperationalError) as exc:
                code = getattr(getattr(exc, "orig", None), "sqlstate", None)
                retriable = isinstance(exc, IntegrityError) or code in ("40001", "40P01")
                if not retriable or attempt == CONFLICT_RETRIES:
                    raise
                log.info("ingest: concurrent write conflict (%s); trying again", code or "23505")
        raise AssertionError("unreachable")

    return wrapper


class PreconditionFailed(Exception):
    """The stored version of an article does not satisfy the write's precondition."""

    def __init__(self, article_id: str, version: str | None) -> None:
        super().__init__(f"article {article_id!r}: precondition failed")
        self.article_id = article_id
        self.version = version  # the stored version, None when there is none


def _check(session: Session, article_id: str, precondition: Precondition) -> None:
    """Raise PreconditionFailed unless ``precondition`` holds for the stored version (locked
    until the transaction ends, so that no other write slips in between)."""
    version = store.article_version(session, article_id, lock=True)
    if not precondition(version):
        raise PreconditionFailed(article_id, version)


@dataclass(frozen=True)
class Stored:
    index: int
    id: str
    status: str  # created, replaced, unchanged or superseded


@dataclass(frozen=True)
class Rejected:
    index: int
    id: str | None
    details: list[FieldError]

    @property
    def reason(self) -> str:
        """The reasons on one line: ``field: message; field: message``."""
        return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in self.details)


@dataclass
class BatchResult:
    stored: list[Stored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was written (so feeds may need regenerating)."""
        return any(s.status in ("created", "replaced") for s in self.stored)


def _raw_id(raw: object) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def validate_articles(
    raws: Sequence[object], settings: Settings, known_slugs: set[str]
) -> tuple[list[tuple[int, ArticleRecord]], list[Rejected]]:
    """Parse every record and check its categories exist; split into good and rejected."""
    good: list[tuple[int, ArticleRecord]] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(raws):
        try:
            record = parse_article(raw, settings.timezone)
        except RecordError as exc:
            rejected.append(Rejected(index, _raw_id(raw), list(exc.errors)))
            continue
        unknown = [
            FieldError(
                f"categories[{i}]",
                f"unknown category {slug!r}; create it first (import-categories or PUT "
                f"/api/v1/categories/{slug})",
            )
            for i, slug in enumerate(record.categories)
            if slug not in known_slugs
        ]
        if unknown:
            rejected.append(Rejected(index, record.id, unknown))
        else:
            good.append((index, record))
    return good, rejected


@retry_on_conflict
def store_articles(
    db: Database, settings: Settings, clock: Clock, raws: Sequence[object]
) -> BatchResult:
    """Validate and upsert a batch of article records in one transaction."""
    result = BatchResult()
    with db.writing() as session:
        good, result.rejected = validate_articles(raws, settings, store.category_slugs(session))
        records = [record for _, record in good]
        statuses = store.upsert_articles(session, records, clock.now()) if records else []
    result.stored = [
        Stored(index, record.id, status)
        for (index, record), status in zip(good, statuses, strict=True)
    ]
    return result


@dataclass(frozen=True)
class PreparedBatch:
    """JSON lines parsed and validated, with each good record's digest: all the CPU-bound work
    of storing them, done where it can run in parallel (the importer's worker processes)."""

    size: int
    good: list[tuple[int, ArticleRecord, str]]  # index in the batch, record, record_hash
    rejected: list[Rejected]


def prepare_lines(
    lines: Sequence[bytes], settings: Settings, known_slugs: set[str]
) -> PreparedBatch:
    """Parse each JSON line, validate it as an article, and hash the good ones (no database)."""
    raws: list[object] = []
    unparsed: list[Rejected] = []
    positions: list[int] = []
    for index, line in enumerate(lines):
        try:
            raws.append(loads_strict(line))
            positions.append(index)
        except JSONError as exc:
            unparsed.append(Rejected(index, None, [FieldError("", str(exc))]))
    good, rejected = validate_articles(raws, settings, known_slugs)
    return PreparedBatch(
        size=len(lines),
        good=[(positions[i], record, store.record_hash(record)) for i, record in good],
        rejected=sorted(
            unparsed + [Rejected(positions[r.index], r.id, r.details) for r in rejected],
            key=lambda r: r.index,
        ),
    )


@retry_on_conflict
def store_prepared(db: Database, clock: Clock, batch: PreparedBatch) -> BatchResult:
    """Upsert the good records of a prepared batch in one transaction."""
    result = BatchResult(rejected=list(batch.rejected))
    records = [record for _, record, _ in batch.good]
    digests = [digest for _, _, digest in batch.good]
    with db.writing() as session:
        statuses = store.upsert_articles(session, records, clock.now(), digests) if records else []
    result.stored = [
        Stored(index, record.id, status)
        for (index, record, _), status in zip(batch.good, statuses, strict=True)
    ]
    return result


@retry_on_conflict
def store_category(db: Database, clock: Clock, raw: object) -> tuple[CategoryRecord, str]:
    """Validate and upsert one category; RecordError when it breaks a rule."""
    record = parse_category(raw)
    with db.writing() as session:
        status = store.upsert_category(session, record, clock.now())
    return record, status


def delete_article(
    db: Database, clock: Clock, article_id: str, precondition: Precondition | None = None
) -> bool:
    """Remove an article from every feed; False when unknown or already deleted.

    ``precondition``, when given, is checked against the stored version in the same transaction
    (an unknown article is False first: there is nothing to compare).
    """
    with db.writing() as session:
        if precondition is not None:
            if store.article_version(session, article_id, lock=True) is None:
                return False
            _check(session, article_id, precondition)
        return store.delete_article(session, article_id, clock.now())


# --- one record at its URL (the ingest API's PUT and GET) ---------------------------------------


def _url_mismatch(name: str, sent: object, expected: str) -> list[FieldError]:
    """The error for a body field that names a different record than the URL (none if absent)."""
    if sent is None or sent == expected:
        return []
    shown = repr(sent) if isinstance(sent, str) and len(sent) <= 80 else "a different value"
    return [
        FieldError(
            name,
            f"must equal the {name} in the URL ({expected!r}), got {shown}; leave it out or "
            f"send the same {name}",
        )
    ]


def _url_normalised(name: str) -> FieldError:
    """The error for a URL whose record key changes when normalised (control characters)."""
    return FieldError(name, f"the {name} in the URL contains characters a {name} may not have")


@retry_on_conflict
def put_article(
    db: Database,
    settings: Settings,
    clock: Clock,
    article_id: str,
    raw: Mapping[str, object],
    precondition: Precondition | None = None,
) -> tuple[ArticleRecord, str]:
    """Validate and upsert the article sent for ``article_id``; returns it and its status.

    A body ``id`` must be absent (the URL's is taken) or equal ``article_id``. RecordError lists
    every broken rule, and then nothing is written. ``precondition`` is checked first, against
    the stored version, in the write's own transaction: PreconditionFailed writes nothing.
    """
    errors = _url_mismatch("id", raw.get("id"), article_id)
    with db.writing() as session:
        if precondition is not None:
            _check(session, article_id, precondition)
        good, rejected = validate_articles(
            [{**raw, "id": article_id}], settings, store.category_slugs(session)
        )
        errors += [error for reject in rejected for error in reject.details]
        if good and good[0][1].id != article_id:
            errors.append(_url_normalised("id"))
        if errors:
            raise RecordError(errors)
        record = good[0][1]
        status = store.upsert_articles(session, [record], clock.now())[0]
    return record, status


@retry_on_conflict
def put_category(
    db: Database, clock: Clock, slug: str, raw: Mapping[str, object]
) -> tuple[CategoryRecord, str]:
    """Validate and upsert the category sent for ``slug``; returns it and its status.

    A body ``slug`` must be absent (the URL's is taken) or equal ``slug``. RecordError lists
    every broken rule, and then nothing is written.
    """
    errors = _url_mismatch("slug", raw.get("slug"), slug)
    try:
        record = parse_category({**raw, "slug": slug})
    except RecordError as exc:
        raise RecordError(errors + exc.errors) from None
    if record.slug != slug:
        errors.append(_url_normalised("slug"))
    if errors:
        raise RecordError(errors)
    with db.writing() as session:
        status = store.upsert_category(session, record, clock.now())
    return record, status


def is_article_id(text: str) -> bool:
    """Whether ``text`` passes the article id rule unchanged, as every stored id did.

    Lets a lookup refuse what cannot be stored before it reaches the database (PostgreSQL
    rejects a NUL in a query parameter with an error, not with "no such row").
    """
    if clean_text(text) != text:
        return False
    try:
        parse_article({"id": text}, ZoneInfo("UTC"))
    except RecordError as exc:
        return all(error.field != "id" for error in exc.errors)
    return True


def is_category_slug(text: str) -> bool:
    """Whether ``text`` passes the slug rule unchanged, as every stored slug did (``all``,
    reserved, does not)."""
    if clean_text(text) != text:
        return False
    try:
        parse_category({"slug": text, "name": "-"})
    except RecordError:
        return False
    return True


def load_article(db: Database, article_id: str) -> ArticleRecord | None:
    """The stored article as accepted (normalised); None when unknown or deleted."""
    with db.reading() as session:
        row = store.get_article(session, article_id)
        # Built inside the session: the rollback at its end expires the row.
        return None if row is None else record_of(row)


def record_of(row: Article) -> ArticleRecord:
    """The ArticleRecord a stored row was written from."""
    image = None
    if row.image_url is not None:
        image = ImageRecord(
            url=row.image_url,
            caption=row.image_caption,
            mime_type=row.image_mime_type,
            length=row.image_length,
        )
    return ArticleRecord(
        id=row.id,
        url=row.url,
        title=row.title,
        summary=row.summary,
        content_html=row.content_html,
        author=row.author,
        categories=tuple(link.category_slug for link in row.links),
        image=image,
        published_at=row.published_at,
        updated_at=row.updated_at,
    )


def version_of(record: ArticleRecord) -> str:
    """The version of an article as stored: the hash of its normalised record."""
    return store.record_hash(record)


@dataclass(frozen=True)
class StoredArticle:
    """An article as accepted, with its version (the stored record hash) and when it changed."""

    record: ArticleRecord
    version: str
    modified_at: datetime


def _stored_of(row: Article) -> StoredArticle:
    return StoredArticle(record_of(row), row.record_hash, row.modified_at)


def read_article(db: Database, article_id: str) -> StoredArticle | None:
    """The stored article with its version; None when unknown or deleted."""
    with db.reading() as session:
        row = store.get_article(session, article_id)
        return None if row is None else _stored_of(row)


@dataclass(frozen=True)
class ArticlePage:
    """One page of articles in the order they changed, and where the next page starts (None
    when this page is the last)."""

    articles: list[StoredArticle]
    after: tuple[datetime, str] | None


def list_articles(
    db: Database,
    *,
    category: str | None,
    changed_since: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> ArticlePage:
    """A page of stored articles by (modified_at, id), filtered; see store.articles_page."""
    with db.reading() as session:
        rows = store.articles_page(
            session, category=category, changed_since=changed_since, after=after, limit=limit + 1
        )
        articles = [_stored_of(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = articles[-1] if articles else None
    return ArticlePage(articles, (last.modified_at, last.record.id) if more and last else None)


def parse_time(text: str, name: str, tz: ZoneInfo) -> datetime:
    """An instant written as a record's times are (ISO 8601; no offset: read in ``tz``), in
    UTC; RecordError naming ``name`` when it is not one."""
    errors = _Errors()
    moment = _timestamp(text, name, tz, errors, required=True)
    errors.raise_if_any()
    assert moment is not None  # raise_if_any guarantees it
    return moment


# --- categories at their URL (the ingest API's GET and DELETE) ----------------------------------


def category_of(row: Category) -> CategoryRecord:
    return CategoryRecord(slug=row.slug, name=row.name, description=row.description)


def list_categories(db: Database) -> list[CategoryRecord]:
    """Every category as accepted, by slug."""
    with db.reading() as session:
        return [category_of(row) for row in store.list_categories(session)]


def load_category(db: Database, slug: str) -> CategoryRecord | None:
    """The category ``slug`` as accepted, or None."""
    with db.reading() as session:
        row = store.get_category(session, slug)
        return None if row is None else category_of(row)


@retry_on_conflict
def delete_category(db: Database, clock: Clock, slug: str) -> int | None:
    """Delete a category that holds no article, with its feeds; None when unknown, else how many
    articles are still in it (then nothing changed).

    Retried like the writes: on PostgreSQL an article written into the category at the same
    moment makes the delete fail on the links' foreign key; run again, it counts that article.
    """
    with db.writing() as session:
        return store.delete_category(session, slug, clock.now())
