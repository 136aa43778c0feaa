"""Change tracking: which feeds changed since they were last rendered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from feedsvc.store._common import ALL
from feedsvc.store.meta import bump_counter
from feedsvc.store.models import (
    Category,
    FeedState,
)


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
    return [ALL, *session.scalars(select(Category.slug).order_by(Category.slug))]


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
