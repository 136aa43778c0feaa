"""Leases (one regenerator at a time across processes), and the connection check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.store._common import _rowcount
from feedsvc.store.models import (
    Lease,
)


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
