"""Shared by the store's modules: the ``all`` feed's key, IN-list chunks, rowcounts, and the
dialect's INSERT for upserts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

ALL = "all"
CHUNK = 500  # rows per IN (...) query: well under SQLite's variable limit


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (their results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount


def dialect_insert(session: Session, table: Any) -> Any:
    """The INSERT of the session's dialect (PostgreSQL or SQLite), the one that has
    ``on_conflict_do_update`` and ``on_conflict_do_nothing``."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)
