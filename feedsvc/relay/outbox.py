"""Every query of the relay's outbox (migration 0008): one row per story and destination.

A row is *claimed* (``sending``, one more attempt) in a committed transaction before its send,
and marked ``sent`` in another right after. Each destination sends one row at a time, so after a
``kill -9`` at most one row per destination is left ``sending``: the send that was in flight,
which may or may not have reached the chat. :func:`recover_in_flight` puts it back in the queue
(sent again: a possible duplicate, never a loss).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from feedsvc.relay.message import Story
from feedsvc.store import dialect_insert
from feedsvc.store.models import RelayOutbox

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending: its id, the story, and which attempt this is (1 = first)."""

    id: int
    story: Story
    attempt: int


def enqueue(session: Session, entries: Iterable[tuple[str, str, Story]], now: datetime) -> int:
    """Add (destination, feed key, story) rows not already there; how many were new."""
    values = [
        {
            "destination": destination,
            "story_id": story.id,
            "feed_key": feed_key,
            "story": story.to_json(),
            "published_at": story.published_at() or now,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for destination, feed_key, story in entries
    ]
    if not values:
        return 0
    added = 0
    for row in values:  # one statement each: the conflict target is the unique index
        stmt = dialect_insert(session, RelayOutbox).values(**row)
        stmt = stmt.on_conflict_do_nothing(index_elements=["destination", "story_id"])
        # RETURNING: the rowcount of an INSERT … ON CONFLICT is not reliable across drivers.
        added += len(session.execute(stmt.returning(RelayOutbox.id)).all())
    return added


def recover_in_flight(session: Session, now: datetime) -> list[tuple[str, str]]:
    """Put rows left ``sending`` by a crash back in the queue, and make every waiting row due
    now (a restart is how an operator says "try again": a new token, a fixed chat id); the
    (destination, story) of the rows that were in flight."""
    rows = session.execute(
        select(RelayOutbox.id, RelayOutbox.destination, RelayOutbox.story_id).where(
            RelayOutbox.state == SENDING
        )
    ).all()
    session.execute(
        update(RelayOutbox)
        .where(RelayOutbox.state.in_((SENDING, PENDING)))
        .values(state=PENDING, next_attempt_at=now)
    )
    return [(r.destination, r.story_id) for r in rows]


def claim_next(session: Session, destination: str, now: datetime) -> Claimed | None:
    """Take the destination's oldest due row (``sending``, one more attempt), or None."""
    row = session.execute(
        select(RelayOutbox.id, RelayOutbox.story, RelayOutbox.attempts)
        .where(
            RelayOutbox.destination == destination,
            RelayOutbox.state == PENDING,
            RelayOutbox.next_attempt_at <= now,
        )
        .order_by(RelayOutbox.published_at, RelayOutbox.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    session.execute(
        update(RelayOutbox)
        .where(RelayOutbox.id == row.id, RelayOutbox.state == PENDING)
        .values(state=SENDING, attempts=row.attempts + 1)
    )
    return Claimed(row.id, Story.from_json(row.story), row.attempts + 1)


def next_due(session: Session, destination: str) -> datetime | None:
    """When the destination's next pending row is due, or None when none waits."""
    return session.scalar(
        select(func.min(RelayOutbox.next_attempt_at)).where(
            RelayOutbox.destination == destination, RelayOutbox.state == PENDING
        )
    )


def mark_sent(session: Session, row_id: int, now: datetime) -> None:
    """The chat has the story."""
    session.execute(
        update(RelayOutbox)
        .where(RelayOutbox.id == row_id)
        .values(state=SENT, sent_at=now, last_error=None)
    )


def mark_retry(
    session: Session, row_id: int, when: datetime, error: str, *, count: bool = True
) -> None:
    """Try again at ``when``; ``count=False`` gives the attempt back (the destination paused,
    the story was not at fault)."""
    values: dict[str, object] = {"state": PENDING, "next_attempt_at": when, "last_error": error}
    if not count:
        values["attempts"] = RelayOutbox.attempts - 1
    session.execute(update(RelayOutbox).where(RelayOutbox.id == row_id).values(**values))


def mark_failed(session: Session, row_id: int, error: str) -> None:
    """Never to be sent (bad parameters, or out of attempts); the reason is kept."""
    session.execute(
        update(RelayOutbox).where(RelayOutbox.id == row_id).values(state=FAILED, last_error=error)
    )


def hold_destination(session: Session, destination: str, until: datetime, error: str) -> None:
    """Every pending row of a paused destination waits until ``until``."""
    session.execute(
        update(RelayOutbox)
        .where(RelayOutbox.destination == destination, RelayOutbox.state == PENDING)
        .where(RelayOutbox.next_attempt_at < until)
        .values(next_attempt_at=until, last_error=error)
    )


def state_counts(session: Session) -> dict[tuple[str, str], int]:
    """(destination, state) -> rows."""
    rows = session.execute(
        select(RelayOutbox.destination, RelayOutbox.state, func.count()).group_by(
            RelayOutbox.destination, RelayOutbox.state
        )
    ).all()
    return {(d, s): n for d, s, n in rows}


def prune(session: Session, before: datetime) -> int:
    """Forget sent and failed rows of stories published before ``before`` (older than any
    story the relay would still take, so forgetting them cannot let one through twice)."""
    result = session.execute(
        delete(RelayOutbox).where(
            RelayOutbox.state.in_((SENT, FAILED)), RelayOutbox.published_at < before
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
