"""Typed SQLAlchemy models. Times are stored in UTC; every column works on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both stores (SQLite keeps no offset; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, one C-level format instead of two chained Python processors: the text
        SQLAlchemy's DATETIME writes, ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (the importer binds
        several per article; tests/unit/store/test_models.py holds the two to the same text)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id_type(length: int) -> String:
    # Byte order ("C" collation) on PostgreSQL, as SQLite's BINARY: ordering ties break the same
    # way on both stores, whatever the server's locale.
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    pass


class Category(Base):
    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(_id_type(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    content_html: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    image_caption: Mapped[str | None] = mapped_column(Text)
    image_mime_type: Mapped[str | None] = mapped_column(String(255))
    image_length: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Deletion marker, not a hard delete: feeds notice the removal, and a later PUT revives it.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When this row last changed (any field, deletion included): part of every feed fingerprint.
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a change readers can see (anything but updated_at) was last accepted without an
    # updated_at newer than the item's: the service's clock. The item's updated time is the
    # later of this and updated_at (or published_at). None: never corrected that way.
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hash of the normalised record, so that an identical repeat changes nothing.
    record_hash: Mapped[str] = mapped_column(String(64))

    links: Mapped[list[ArticleCategory]] = relationship(
        back_populates="article",
        cascade="all, delete-orphan",
        order_by="ArticleCategory.position",
    )

    __table_args__ = (
        Index("ix_articles_visible", "deleted_at", "published_at", "id"),
        # The API lists articles in the order they changed (GET /api/v1/articles).
        Index("ix_articles_changed", "modified_at", "id"),
    )


class ArticleCategory(Base):
    """Which categories an article is in; published_at is copied here so that the newest items
    of one category come from one index range scan, whatever the archive's size."""

    __tablename__ = "article_categories"

    category_slug: Mapped[str] = mapped_column(
        _id_type(64), ForeignKey("categories.slug"), primary_key=True
    )
    article_id: Mapped[str] = mapped_column(
        _id_type(200), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    article: Mapped[Article] = relationship(back_populates="links")

    __table_args__ = (
        Index(
            "ix_article_categories_feed", "category_slug", "deleted", "published_at", "article_id"
        ),
        Index("ix_article_categories_article", "article_id"),
    )


class FeedState(Base):
    """Change tracking of one feed (a category slug or ``all``).

    Writers set ``change_seq`` from the global change counter; regeneration records the sequence
    it has seen in ``rendered_seq``. The feed is dirty while ``change_seq > rendered_seq``.
    """

    __tablename__ = "feed_states"

    key: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    rendered_seq: Mapped[int] = mapped_column(BigInteger, default=-1)


class FeedSnapshot(Base):
    """The rendered feed: every variant's bytes, ETag and headers in one versioned bundle."""

    __tablename__ = "feed_snapshots"

    key: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime)
    # False when the feed changed more than once within the second of last_modified.
    lm_exact: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bundle: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(Base):
    """Small named counters: ``changes`` (every write), ``snapshots`` (every new snapshot),
    ``sweeps``; cheap to poll from every process."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Meta(Base):
    """Recorded facts: the tag: authority, the settings fingerprint, the last sweep."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Lease(Base):
    """Who may regenerate: one holder at a time across every process and instance."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSubSubscription(Base):
    """A subscriber of the built-in WebSub hub: one row per (topic, callback).

    Active while ``expires_at`` is in the future. A request not yet verified waits in the
    ``pending_*`` columns, so a renewal changes nothing until it is verified (WebSub §5.1).
    """

    __tablename__ = "websub_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    feed_key: Mapped[str] = mapped_column(_id_type(64))
    fmt: Mapped[str] = mapped_column(String(16))
    callback: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest request awaiting verification of intent (WebSub §5.3): mode, its parameters,
    # a random id that the verification result must match, when to try, and how often it did.
    pending_mode: Mapped[str | None] = mapped_column(String(16))
    pending_secret: Mapped[str | None] = mapped_column(Text)
    pending_lease: Mapped[int | None] = mapped_column(Integer)
    pending_id: Mapped[str | None] = mapped_column(String(32))
    verify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verify_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker holding the verification until then; another may take it over afterwards.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ux_websub_subscriptions_topic_callback", "topic", "callback", unique=True),
        Index("ix_websub_subscriptions_feed", "feed_key", "expires_at"),
        Index("ix_websub_subscriptions_verify", "verify_due_at"),
    )


class WebSubDelivery(Base):
    """The one pending content delivery of a subscription: later changes of the feed update
    it in place, so a subscriber always receives the newest feed and never a backlog."""

    __tablename__ = "websub_deliveries"

    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("websub_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)  # the snapshot version that enqueued it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_websub_deliveries_due", "next_attempt_at"),)


class InstanceReport(Base):
    """What one serving instance (processes sharing FEEDSVC_RUNTIME_DIR) last reported: the
    ``snapshots`` counter up to which it serves every saved snapshot. The built-in hub holds a
    delivery until each instance reported lately has reached it (feedsvc.websub.gate)."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))  # host:pid of the reporting process
    counter: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatsFeedDay(Base):
    """The audience of one feed on one day (feedsvc.stats): responses, ``304`` s, requests
    with a validator, and the distinct direct clients as a HyperLogLog sketch (4 KiB of
    registers, never an address)."""

    __tablename__ = "stats_feed_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    feed: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    not_modified: Mapped[int] = mapped_column(BigInteger, default=0)
    validated: Mapped[int] = mapped_column(BigInteger, default=0)
    sketch: Mapped[bytes | None] = mapped_column(LargeBinary)
    direct_clients: Mapped[int] = mapped_column(Integer, default=0)  # the sketch's estimate


class StatsClientDay(Base):
    """One client name's requests to one feed on one day, and an aggregator's latest figure."""

    __tablename__ = "stats_client_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    feed: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    name: Mapped[str] = mapped_column(_id_type(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(32))
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    not_modified: Mapped[int] = mapped_column(BigInteger, default=0)
    validated: Mapped[int] = mapped_column(BigInteger, default=0)
    subscribers: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatsSalt(Base):
    """The secret that keys one day's client hashes; deleted once the day is over."""

    __tablename__ = "stats_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)


class RelayOutbox(Base):
    """One story for one relay destination (``feedsvc relay``): the outbox that makes each
    story reach each chat once. ``state``: ``pending`` (due at ``next_attempt_at``), ``sending``
    (claimed for a send that has not reported back: after a crash, the one in-flight send),
    ``sent``, ``failed`` (dropped: bad parameters, or out of attempts)."""

    __tablename__ = "relay_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(_id_type(64))
    story_id: Mapped[str] = mapped_column(_id_type(400))
    feed_key: Mapped[str] = mapped_column(_id_type(64))
    story: Mapped[str] = mapped_column(Text)  # the story as JSON (feedsvc.relay.message.Story)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ux_relay_outbox_story", "destination", "story_id", unique=True),
        Index("ix_relay_outbox_due", "destination", "state", "next_attempt_at"),
    )


class RelayZaloToken(Base):
    """A Zalo OA app's token pair. The refresh token is single-use: each renewal stores the new
    pair here (committed) before the access token is used. ``refreshing_since`` is written
    before the renewal call and cleared with its result, so a crash in between is recognised at
    the next start. ``seed_digest``: SHA-256 of the refresh token the settings file gave, so an
    operator's new token replaces the stored pair."""

    __tablename__ = "relay_zalo_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed_digest: Mapped[str] = mapped_column(String(64))
    refreshing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
