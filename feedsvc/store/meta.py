"""Key/value facts about the database, and counters bumped inside a transaction."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from feedsvc.store._common import _rowcount
from feedsvc.store.models import (
    Counter,
    Meta,
)


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
