"""Stored snapshots: versions, heads, bundles, and the compare-and-set save."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedsvc.store._common import ALL, _rowcount
from feedsvc.store.meta import _bump
from feedsvc.store.models import (
    Category,
    FeedSnapshot,
)


def snapshot_versions(session: Session) -> dict[str, int]:
    """key -> version of the stored snapshot of every feed (cheap: no bundles).

    Only feeds that exist: a run that rendered a category while it was being deleted may save
    its first snapshot after the deletion, and no worker must serve it.
    """
    exists = or_(FeedSnapshot.key == ALL, FeedSnapshot.key.in_(select(Category.slug)))
    stmt = select(FeedSnapshot.key, FeedSnapshot.version).where(exists)
    return dict(session.execute(stmt).all())


@dataclass(frozen=True)
class SnapshotHead:
    """A stored snapshot's version and validators, without its bytes."""

    version: int
    fingerprint: str
    last_modified: datetime
    lm_exact: bool


_SNAPSHOT_HEAD = select(
    FeedSnapshot.version,
    FeedSnapshot.fingerprint,
    FeedSnapshot.last_modified,
    FeedSnapshot.lm_exact,
).where(FeedSnapshot.key == bindparam("b_key"))


def snapshot_head(session: Session, key: str) -> SnapshotHead | None:
    """Version, fingerprint and Last-Modified of a feed's stored snapshot, or None."""
    row = session.execute(_SNAPSHOT_HEAD, {"b_key": key}).first()
    return None if row is None else SnapshotHead(*row)


def snapshot_bundle(session: Session, key: str) -> bytes | None:
    """The stored bundle of a feed's snapshot (its bytes only), or None."""
    return session.scalar(select(FeedSnapshot.bundle).where(FeedSnapshot.key == key))


def get_snapshot(session: Session, key: str) -> FeedSnapshot | None:
    """The stored snapshot of a feed, or None."""
    return session.get(FeedSnapshot, key)


def snapshot_bundles(session: Session, keys: Sequence[str]) -> list[bytes]:
    """The stored bundles of the given feeds (bytes only, no row objects)."""
    return list(session.scalars(select(FeedSnapshot.bundle).where(FeedSnapshot.key.in_(keys))))


def save_snapshot(session: Session, snapshot: FeedSnapshot, previous_version: int | None) -> bool:
    """Store a new snapshot version atomically; False if another render got there first.

    The compare-and-set on the version means an older render can never overwrite a newer one.
    """
    values = {
        "version": snapshot.version,
        "fingerprint": snapshot.fingerprint,
        "last_modified": snapshot.last_modified,
        "lm_exact": snapshot.lm_exact,
        "created_at": snapshot.created_at,
        "bundle": snapshot.bundle,
    }
    if previous_version is None:
        try:
            with session.begin_nested():
                session.execute(_INSERT_SNAPSHOT, {"key": snapshot.key, **values})
        except IntegrityError:
            return False
    else:
        params = {"b_key": snapshot.key, "b_version": previous_version, **values}
        if _rowcount(session.execute(_REPLACE_SNAPSHOT, params)) != 1:
            return False
    # Announced in the same transaction: every worker loads a saved snapshot even when the
    # process that saved it dies before the end of its run.
    _bump(session, "snapshots")
    return True


# Built once: a full regeneration saves a hundred snapshots.
_INSERT_SNAPSHOT = insert(FeedSnapshot)
_REPLACE_SNAPSHOT = (
    update(FeedSnapshot)
    .where(
        FeedSnapshot.key == bindparam("b_key"),
        FeedSnapshot.version == bindparam("b_version"),
    )
    .values(
        {
            name: bindparam(name)
            for name in ("version", "fingerprint", "last_modified", "lm_exact", "created_at")
        }
        | {"bundle": bindparam("bundle")}
    )
)
