"""Serving instances' reports: the ``snapshots`` counter each one serves up to, and when it last
said so (written by feedsvc.publish.instance, read by the built-in hub's gate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.store._common import _rowcount
from feedsvc.store.models import InstanceReport


def report_instance(
    session: Session, instance_id: str, host: str, counter: int, now: datetime
) -> None:
    """Record that instance ``instance_id`` serves every snapshot saved up to ``counter``."""
    values = {"host": host[:255], "counter": counter, "seen_at": now}
    stmt = update(InstanceReport).where(InstanceReport.id == instance_id).values(**values)
    if _rowcount(session.execute(stmt)) == 1:
        return
    try:
        with session.begin_nested():
            session.execute(insert(InstanceReport).values(id=instance_id, **values))
    except IntegrityError:
        session.execute(stmt)  # another process of the instance wrote it first


@dataclass(frozen=True)
class LiveInstance:
    """An instance that reported lately: its id, host:pid and counter."""

    id: str
    host: str
    counter: int


def live_instances(session: Session, since: datetime) -> list[LiveInstance]:
    """Every instance that reported at or after ``since``."""
    rows = session.execute(
        select(InstanceReport.id, InstanceReport.host, InstanceReport.counter).where(
            InstanceReport.seen_at >= since
        )
    )
    return [LiveInstance(*row) for row in rows]


def forget_instance(session: Session, instance_id: str) -> None:
    """Remove an instance's report (it stops: nobody should wait for it)."""
    session.execute(delete(InstanceReport).where(InstanceReport.id == instance_id))


def forget_instances_before(session: Session, before: datetime) -> int:
    """Remove the reports of instances silent since before ``before``; how many."""
    return _rowcount(session.execute(delete(InstanceReport).where(InstanceReport.seen_at < before)))
