"""Every query of the built-in WebSub hub. Functions take a Session; no Flask imports.

Two tables (migration 0002): ``websub_subscriptions``, one row per (topic, callback) with the
request awaiting verification in its ``pending_*`` columns, and ``websub_deliveries``, at most
one pending delivery per subscription, updated in place when the feed changes again.
Workers *claim* rows with a compare-and-set on ``claimed_until``, so a row is worked on by one
worker at a time, and a crashed worker's claim simply runs out.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    delete,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.store.db import dialect_insert
from feedsvc.store.models import UTCDateTime, WebSubDelivery, WebSubSubscription
from feedsvc.websub.safety import callback_host

Sub = WebSubSubscription
Dlv = WebSubDelivery
Job = TypeVar("Job")


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
    active: bool = False  # the subscriber confirmed a request before (a renewal, an unsubscribe)


@dataclass
class HostRoom:
    """How many requests may go to one callback host at once, and how many are under way
    (host -> count, as :func:`~feedsvc.websub.safety.callback_host` writes hosts)."""

    per_host: int
    busy: Counter[str] = field(default_factory=Counter)

    def full(self) -> set[str]:
        """The hosts that may take no more requests now."""
        return {host for host, count in self.busy.items() if count >= self.per_host}

    def take(self, callback: str) -> bool:
        """Count one more request to the callback's host, if it has room."""
        host = callback_host(callback)
        if self.busy[host] >= self.per_host:
            return False
        self.busy[host] += 1
        return True

    def release(self, callback: str) -> None:
        """Count one request to the callback's host less."""
        self.busy[callback_host(callback)] -= 1


def claim_verifications(
    session: Session, now: datetime, until: datetime, limit: int, room: HostRoom | None = None
) -> list[VerifyJob]:
    """Take up to ``limit`` due verifications for this worker until ``until``; with ``room``,
    only as many per callback host as it allows (and counted in it)."""
    columns = (
        Sub.id,
        Sub.pending_id,
        Sub.pending_mode,
        Sub.topic,
        Sub.callback,
        Sub.pending_lease,
        Sub.verify_attempts,
        Sub.expires_at,
    )
    due = (Sub.pending_id.is_not(None), Sub.verify_due_at <= now, _unclaimed(Sub, now))

    def due_rows(skip: set[str], count: int) -> list[Any]:
        stmt = select(*columns).where(*due, *_not_on(skip)).order_by(Sub.verify_due_at)
        return list(session.execute(stmt.limit(count)).all())

    def claim(row: Any) -> VerifyJob | None:
        mine = (Sub.id == row[0], Sub.pending_id == row[1])
        claimed = update(Sub).where(*mine, _unclaimed(Sub, now))
        if _rowcount(session.execute(claimed.values(claimed_until=until))) != 1:
            return None
        return VerifyJob(
            subscription_id=row.id,
            pending_id=str(row.pending_id),
            mode=str(row.pending_mode),
            topic=row.topic,
            callback=row.callback,
            lease_seconds=row.pending_lease,
            attempts=row.verify_attempts,
            active=row.expires_at is not None,
        )

    return _claim_by_host(due_rows, claim, limit, room)


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
    stmt = dialect_insert(session, Dlv.__table__).from_select(
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
    session: Session, now: datetime, until: datetime, limit: int, room: HostRoom | None = None
) -> list[DeliveryJob]:
    """Take up to ``limit`` due deliveries of active subscriptions until ``until``; with
    ``room``, only as many per callback host as it allows (and counted in it)."""
    columns = (
        Dlv.subscription_id,
        Dlv.version,
        Dlv.attempts,
        Sub.callback,
        Sub.topic,
        Sub.feed_key,
        Sub.fmt,
        Sub.secret,
    )
    due = (Dlv.next_attempt_at <= now, _unclaimed(Dlv, now), Sub.expires_at > now)

    def due_rows(skip: set[str], count: int) -> list[Any]:
        stmt = select(*columns).join(Sub, Sub.id == Dlv.subscription_id)
        stmt = stmt.where(*due, *_not_on(skip)).order_by(Dlv.next_attempt_at)
        return list(session.execute(stmt.limit(count)).all())

    def claim(row: Any) -> DeliveryJob | None:
        claimed = update(Dlv).where(Dlv.subscription_id == row[0], _unclaimed(Dlv, now))
        if _rowcount(session.execute(claimed.values(claimed_until=until))) != 1:
            return None
        return DeliveryJob(
            subscription_id=row.subscription_id,
            version=row.version,
            attempts=row.attempts,
            callback=row.callback,
            topic=row.topic,
            feed_key=row.feed_key,
            fmt=row.fmt,
            secret=row.secret,
        )

    return _claim_by_host(due_rows, claim, limit, room)


def _claim_by_host(
    due_rows: Callable[[set[str], int], list[Any]],
    claim: Callable[[Any], Job | None],
    limit: int,
    room: HostRoom | None,
) -> list[Job]:
    """Claim due rows in order, skipping hosts without room. Each round asks only for rows of
    hosts that still have room, so a host with many rows due never hides the others behind it;
    each round claims at least one row or ends, so there are at most ``limit`` rounds."""
    jobs: list[Job] = []
    while len(jobs) < limit:
        wanted = limit - len(jobs)
        rows = due_rows(room.full() if room is not None else set(), wanted)
        progress = False
        for row in rows:
            if room is not None and not room.take(row.callback):
                continue
            job = claim(row)
            if job is None:  # another worker took it meanwhile
                if room is not None:
                    room.release(row.callback)
                continue
            jobs.append(job)
            progress = True
        if not progress or len(rows) < wanted:  # stuck, or every due row was seen
            break
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


# --- callback hosts (the hub's per-host limits) ---------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Subscriptions (pending or active) and requests waiting for verification."""

    subscriptions: int
    pending: int


def counts(session: Session, host: str | None = None) -> Counts:
    """How many subscriptions and requests waiting for verification the hub holds: in all, or
    with a callback on ``host`` (as :func:`~feedsvc.websub.safety.callback_host` writes it)."""
    stmt = select(func.count(), func.count(Sub.pending_id))  # count(column): the non-null ones
    if host is not None:
        stmt = stmt.where(_on_host(host))
    total, pending = session.execute(stmt).one()
    return Counts(int(total), int(pending))


def _on_host(host: str) -> ColumnElement[bool]:
    """The callback's host is ``host``: the URL, in lower case, starts with ``scheme://host``
    followed by its end, a port, a path or a query (no user info: the hub refuses it)."""
    escaped = host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    url = func.lower(Sub.callback)
    terms = []
    for scheme in ("http", "https"):
        prefix = f"{scheme}://{escaped}"
        terms.append(url.like(prefix, escape="\\"))
        terms += [url.like(f"{prefix}{after}%", escape="\\") for after in ("/", ":", "?")]
    return or_(*terms)


def _not_on(hosts: set[str]) -> list[ColumnElement[bool]]:
    """Conditions that leave out callbacks on any of ``hosts``."""
    return [not_(_on_host(host)) for host in sorted(hosts)]


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
