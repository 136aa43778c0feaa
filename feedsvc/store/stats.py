"""The audience figures' tables (feedsvc.stats): adding a flush's counts, the daily secrets,
retention, and the reads of the editors' page and the gauges.

Counts are added with one upsert per row (``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``
on SQLite ≥ 3.24 and PostgreSQL alike), so several workers flushing at once never lose one. A
day's sketch is merged register by register in Python after that upsert, which has locked the
row (PostgreSQL) or runs under the write lock (SQLite ``BEGIN IMMEDIATE``): read, merge and
write cannot interleave with another worker's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from feedsvc.store._common import _rowcount
from feedsvc.store.db import dialect_insert
from feedsvc.store.models import StatsClientDay, StatsFeedDay, StatsSalt

SALT_BYTES = 32


@dataclass(frozen=True)
class ClientCounts:
    """What one flush adds for one client name of one feed and day."""

    name: str
    family: str
    requests: int
    not_modified: int
    validated: int
    subscribers: int | None
    seen_at: datetime | None


@dataclass(frozen=True)
class FeedDayRow:
    """A stored feed-day (without its sketch)."""

    day: date
    feed: str
    requests: int
    not_modified: int
    validated: int
    direct_clients: int


@dataclass(frozen=True)
class ClientDayRow:
    """A stored client-day."""

    day: date
    feed: str
    name: str
    family: str
    requests: int
    not_modified: int
    validated: int
    subscribers: int | None


def stats_salt(session: Session, day: date) -> bytes:
    """The secret of ``day``'s client hashes, made (randomly) by whichever process asks first."""
    stmt = dialect_insert(session, StatsSalt).values(day=day, salt=os.urandom(SALT_BYTES))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["day"]))
    return bytes(session.execute(select(StatsSalt.salt).where(StatsSalt.day == day)).scalar_one())


def add_feed_day(
    session: Session,
    day: date,
    feed: str,
    counts: tuple[int, int, int],
    sketch: bytes | None,
    merge: Callable[[bytes | None, bytes], tuple[bytes, int]],
) -> None:
    """Add (requests, not_modified, validated) to a feed's day and fold ``sketch`` into its
    stored one (None: no new client to fold); ``merge(stored, new)`` gives the merged sketch
    and its estimate."""
    requests, not_modified, validated = counts
    table = StatsFeedDay.__table__
    stmt = dialect_insert(session, table).values(
        day=day,
        feed=feed,
        requests=requests,
        not_modified=not_modified,
        validated=validated,
        sketch=None,
        direct_clients=0,
    )
    excluded = stmt.excluded
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "feed"],
            set_={
                "requests": table.c.requests + excluded.requests,
                "not_modified": table.c.not_modified + excluded.not_modified,
                "validated": table.c.validated + excluded.validated,
            },
        )
    )
    if sketch is None:
        return
    where = (StatsFeedDay.day == day) & (StatsFeedDay.feed == feed)
    stored = session.execute(select(StatsFeedDay.sketch).where(where)).scalar_one()
    merged, estimate = merge(None if stored is None else bytes(stored), sketch)
    session.execute(
        update(StatsFeedDay).where(where).values(sketch=merged, direct_clients=estimate)
    )


def add_client_days(
    session: Session, day: date, feed: str, clients: Iterable[ClientCounts]
) -> None:
    """Add each client name's counts to a feed's day; keep an aggregator's latest figure."""
    table = StatsClientDay.__table__
    for client in clients:
        stmt = dialect_insert(session, table).values(
            day=day,
            feed=feed,
            name=client.name[:64],
            family=client.family,
            requests=client.requests,
            not_modified=client.not_modified,
            validated=client.validated,
            subscribers=client.subscribers,
            seen_at=client.seen_at,
        )
        excluded = stmt.excluded
        newer = excluded.subscribers.is_not(None) & (
            table.c.seen_at.is_(None) | (excluded.seen_at >= table.c.seen_at)
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "feed", "name"],
                set_={
                    "requests": table.c.requests + excluded.requests,
                    "not_modified": table.c.not_modified + excluded.not_modified,
                    "validated": table.c.validated + excluded.validated,
                    "subscribers": case((newer, excluded.subscribers), else_=table.c.subscribers),
                    "seen_at": case((newer, excluded.seen_at), else_=table.c.seen_at),
                },
            )
        )


def prune_stats(session: Session, keep_from: date, salts_from: date) -> int:
    """Delete the figures of days before ``keep_from`` and the secrets of days before
    ``salts_from``; how many feed-days went."""
    gone = _rowcount(session.execute(delete(StatsFeedDay).where(StatsFeedDay.day < keep_from)))
    session.execute(delete(StatsClientDay).where(StatsClientDay.day < keep_from))
    session.execute(delete(StatsSalt).where(StatsSalt.day < salts_from))
    return gone


def feed_days(session: Session, since: date) -> list[FeedDayRow]:
    """Every feed-day from ``since`` on, oldest first."""
    rows = session.execute(
        select(
            StatsFeedDay.day,
            StatsFeedDay.feed,
            StatsFeedDay.requests,
            StatsFeedDay.not_modified,
            StatsFeedDay.validated,
            StatsFeedDay.direct_clients,
        )
        .where(StatsFeedDay.day >= since)
        .order_by(StatsFeedDay.day, StatsFeedDay.feed)
    )
    return [FeedDayRow(*row) for row in rows]


def client_days(session: Session, since: date) -> list[ClientDayRow]:
    """Every client-day from ``since`` on, oldest first."""
    rows = session.execute(
        select(
            StatsClientDay.day,
            StatsClientDay.feed,
            StatsClientDay.name,
            StatsClientDay.family,
            StatsClientDay.requests,
            StatsClientDay.not_modified,
            StatsClientDay.validated,
            StatsClientDay.subscribers,
        )
        .where(StatsClientDay.day >= since)
        .order_by(StatsClientDay.day, StatsClientDay.feed, StatsClientDay.name)
    )
    return [ClientDayRow(*row) for row in rows]
