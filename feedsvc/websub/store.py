"""Every query of the built-in WebSub hub. Functions take a Session; no Flask imports.

Two tables (migration 0002): ``websub_subscriptions``, one row per (topic, callback) with the
request awaiting verification in its ``pending_*`` columns, and ``websub_deliveries``, at most
one pending delivery per subscription, updated in place when the feed changes again.
Workers *claim* rows with a compare-and-set on ``claimed_until``, so a row is worked on by one
worker at a time, and a crashed worker's claim simply runs out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.store.models import UTCDateTime, WebSubDelivery, WebSubSubscription

Sub = WebSubSubscription
Dlv = WebSubDelivery


# --- requests (the /websub endpoint) ------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """A request to the hub, valid and waiting to be verified with the subscriber."""

    mode: str  # subscribe | unsubscribe
    topic: str
    feed_key: str
    fmt: str
    callback: str
    secret: str | None = None
    lease_seconds: int | None = None


def record_intent(session: Session, intent: Intent, now: datetime) -> bool:
    """Store a request as the subscription's pending one (the newest request wins, WebSub §5.1);
    False for an unsubscribe of an unknown subscription (nothing to verify)."""
    pending = {
        "pending_mode": intent.mode,
        "pending_secret": intent.secret,
        "pending_lease": intent.lease_seconds,
        "pending_id": secrets.token_hex(16),
        "verify_due_at": now,
        "verify_attempts": 0,
        "claimed_until": None,
        "updated_at": now,
    }
    where = (Sub.topic == intent.topic, Sub.callback == intent.callback)
    if _rowcount(session.execute(update(Sub).where(*where).values(**pending))):
        return True
    if intent.mode != "subscribe":
        return False
    row = {
        "topic": intent.topic,
        "feed_key": intent.feed_key,
        "fmt": intent.fmt,
        "callback": intent.callback,
        "created_at": now,
        **pending,
    }
    try:
        with session.begin_nested():
            session.add(Sub(**row))
    except IntegrityError:
        # The same subscriber asked twice at once: the other insert won; override it.
        session.execute(update(Sub).where(*where).values(**pending))
    return True


# --- verification of intent (WebSub §5.3) -------------------------------------------------------


@dataclass(frozen=True)
class VerifyJob:
    """A pending request claimed for verification."""

    subscription_id: int
    pending_id: str
    mode: str
    topic: str
    callback: str
    lease_seconds: int | None
    attempts: int


def claim_verifications(
    session: Session, now: datetime, until: datetime, limit: int
) -> list[VerifyJob]:
    """Take up to ``limit`` due verifications for this worker until ``until``."""
    rows = session.execute(
        select(
            Sub.id,
            Sub.pending_id,
            Sub.pending_mode,
            Sub.topic,
            Sub.callback,
            Sub.pending_lease,
            Sub.verify_attempts,
        )
        .where(Sub.pending_id.is_not(None), Sub.verify_due_at <= now, _unclaimed(Sub, now))
        .order_by(Sub.verify_due_at)
        .limit(limit)
    ).all()
    jobs = []
    for row in rows:
        mine = (Sub.id == row[0], Sub.pending_id == row[1])
        claimed = update(Sub).where(*mine, _unclaimed(Sub, now))
        if _rowcount(session.execute(claimed.values(claimed_until=until))) == 1:
            jobs.append(
                VerifyJob(
                    subscription_id=row.id,
                    pending_id=str(row.pending_id),
                    mode=str(row.pending_mode),
                    topic=row.topic,
                    callback=row.callback,
                    lease_seconds=row.pending_lease,
                    attempts=row.verify_attempts,
                )
            )
    return jobs


def activate(
    session: Session, job: VerifyJob, expires_at: datetime, lease: int, now: datetime
) -> bool:
    """The subscriber confirmed: the pending subscription (or renewal) becomes the active one."""
    stmt = (
        update(Sub)
        .where(Sub.id == job.subscription_id, Sub.pending_id == job.pending_id)
        .values(
            secret=Sub.pending_secret,
            lease_seconds=lease,
            expires_at=expires_at,
            updated_at=now,
            **_no_pending(),
        )
    )
    return _rowcount(session.execute(stmt)) == 1


def unsubscribe(session: Session, job: VerifyJob) -> bool:
    """The subscriber confirmed an unsubscription: the subscription and its delivery go."""
    current = select(Sub.id).where(Sub.id == job.subscription_id, Sub.pending_id == job.pending_id)
    if session.scalar(current) is None:
        return False  # a newer request replaced this one meanwhile
    end_subscription(session, job.subscription_id)
    return True


def verification_refused(session: Session, job: VerifyJob) -> None:
    """Verification failed: the state stays as it was (WebSub §5.1); a subscription that was
    never active is removed."""
    mine = (Sub.id == job.subscription_id, Sub.pending_id == job.pending_id)
    session.execute(delete(Sub).where(*mine, Sub.expires_at.is_(None)))
    session.execute(update(Sub).where(*mine).values(**_no_pending()))


def verification_later(session: Session, job: VerifyJob, due: datetime) -> None:
    """The callback could not be reached: try the verification again at ``due``."""
    session.execute(
        update(Sub)
        .where(Sub.id == job.subscription_id, Sub.pending_id == job.pending_id)
        .values(verify_attempts=job.attempts + 1, verify_due_at=due, claimed_until=None)
    )


def _no_pending() -> dict[str, object]:
    return {
        "pending_mode": None,
        "pending_secret": None,
        "pending_lease": None,
        "pending_id": None,
        "verify_due_at": None,
        "verify_attempts": 0,
        "claimed_until": None,
    }


# --- content distribution (WebSub §7) -----------------------------------------------------------


def has_subscribers(session: Session, feed_key: str, now: datetime) -> bool:
    """Whether any active subscription watches a feed (any of its formats)."""
    stmt = select(Sub.id).where(Sub.feed_key == feed_key, Sub.expires_at > now).limit(1)
    return session.scalar(stmt) is not None


def enqueue(session: Session, feed_key: str, version: int, now: datetime) -> None:
    """Queue snapshot ``version`` of a feed for every active subscriber of it, in one statement.

    A subscriber with a delivery still pending keeps that one row, now pointing at the newer
    version: changes waiting for one subscriber collapse into the newest feed.
    """
    at = literal(now, UTCDateTime())
    source = select(Sub.id, literal(version, BigInteger()), literal(0, Integer()), at, at).where(
        Sub.feed_key == feed_key, Sub.expires_at > now
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Dlv.__table__).from_select(
        ["subscription_id", "version", "attempts", "next_attempt_at", "enqueued_at"], source
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["subscription_id"],
        set_={"version": stmt.excluded.version},
        where=Dlv.__table__.c.version < stmt.excluded.version,
    )
    session.execute(stmt)


@dataclass(frozen=True)
class DeliveryJob:
    """A pending delivery claimed for sending, with what the request needs."""

    subscription_id: int
    version: int
    attempts: int
    callback: str
    topic: str
    feed_key: str
    fmt: str
    secret: str | None


def claim_deliveries(
    session: Session, now: datetime, until: datetime, limit: int
) -> list[DeliveryJob]:
    """Take up to ``limit`` due deliveries of active subscriptions until ``until``."""
    rows = session.execute(
        select(
            Dlv.subscription_id,
            Dlv.version,
            Dlv.attempts,
            Sub.callback,
            Sub.topic,
            Sub.feed_key,
            Sub.fmt,
            Sub.secret,
        )
        .join(Sub, Sub.id == Dlv.subscription_id)
        .where(Dlv.next_attempt_at <= now, _unclaimed(Dlv, now), Sub.expires_at > now)
        .order_by(Dlv.next_attempt_at)
        .limit(limit)
    ).all()
    jobs = []
    for row in rows:
        claimed = update(Dlv).where(Dlv.subscription_id == row[0], _unclaimed(Dlv, now))
        if _rowcount(session.execute(claimed.values(claimed_until=until))) == 1:
            jobs.append(
                DeliveryJob(
                    subscription_id=row.subscription_id,
                    version=row.version,
                    attempts=row.attempts,
                    callback=row.callback,
                    topic=row.topic,
                    feed_key=row.feed_key,
                    fmt=row.fmt,
                    secret=row.secret,
                )
            )
    return jobs


def delivered(session: Session, job: DeliveryJob, sent_version: int, now: datetime) -> None:
    """The subscriber took version ``sent_version``: done, unless a newer one is waiting."""
    done = delete(Dlv).where(
        Dlv.subscription_id == job.subscription_id, Dlv.version <= sent_version
    )
    if _rowcount(session.execute(done)) == 0:
        _requeue(session, job.subscription_id, now)


def failed(
    session: Session,
    job: DeliveryJob,
    sent_version: int,
    error: str,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """A try failed: retry at ``retry_at``, or (None) drop this delivery. A newer version
    queued meanwhile is still delivered, with tries of its own (WebSub §7)."""
    mine = Dlv.subscription_id == job.subscription_id
    if retry_at is None:
        gone = _rowcount(session.execute(delete(Dlv).where(mine, Dlv.version <= sent_version)))
        if gone == 0:
            _requeue(session, job.subscription_id, now)
        return
    session.execute(
        update(Dlv)
        .where(mine)
        .values(
            attempts=job.attempts + 1,
            next_attempt_at=retry_at,
            claimed_until=None,
            last_error=error,
        )
    )


def _requeue(session: Session, subscription_id: int, when: datetime) -> None:
    session.execute(
        update(Dlv)
        .where(Dlv.subscription_id == subscription_id)
        .values(attempts=0, next_attempt_at=when, claimed_until=None, last_error=None)
    )


def end_subscription(session: Session, subscription_id: int) -> None:
    """Remove a subscription and its pending delivery (unsubscribed, or a 410 from it)."""
    session.execute(delete(Dlv).where(Dlv.subscription_id == subscription_id))
    session.execute(delete(Sub).where(Sub.id == subscription_id))


def purge_expired(session: Session, now: datetime) -> int:
    """Remove subscriptions whose lease ran out (and nothing pending): how many."""
    expired = select(Sub.id).where(Sub.expires_at <= now, Sub.pending_id.is_(None))
    session.execute(delete(Dlv).where(Dlv.subscription_id.in_(expired)))
    return _rowcount(session.execute(delete(Sub).where(Sub.id.in_(expired)))) or 0


def next_due(session: Session, now: datetime) -> datetime | None:
    """When the earliest unclaimed verification or delivery is due (None: nothing queued)."""
    verify = select(func.min(Sub.verify_due_at)).where(
        Sub.pending_id.is_not(None), _unclaimed(Sub, now)
    )
    deliver = select(func.min(Dlv.next_attempt_at)).where(_unclaimed(Dlv, now))
    # min() keeps the column's type, so both come back as aware UTC datetimes.
    found = [t for t in (session.scalar(verify), session.scalar(deliver)) if t is not None]
    return min(found, default=None)


def _unclaimed(model: type[Sub] | type[Dlv], now: datetime) -> ColumnElement[bool]:
    return or_(model.claimed_until.is_(None), model.claimed_until <= now)


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (execute() is typed as returning any Result)."""
    return cast(CursorResult[Any], result).rowcount


# --- reading state (operators, tests) -----------------------------------------------------------


def get_subscription(session: Session, topic: str, callback: str) -> Sub | None:
    """The subscription of (topic, callback), active, pending or expired; or None."""
    return session.scalar(select(Sub).where(Sub.topic == topic, Sub.callback == callback))


def get_delivery(session: Session, subscription_id: int) -> Dlv | None:
    """The pending delivery of a subscription, or None."""
    return session.get(Dlv, subscription_id)


def count_active(session: Session, now: datetime) -> int:
    """How many subscriptions are active."""
    return session.scalar(select(func.count()).where(Sub.expires_at > now)) or 0
