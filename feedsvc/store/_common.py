"""Shared by the store's modules: the ``all`` feed's key, IN-list chunks, rowcounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import CursorResult, Result

if TYPE_CHECKING:
    pass

ALL = "all"
CHUNK = 500  # rows per IN (...) query: well under SQLite's variable limit


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (their results are cursor results)."""
    return cast(CursorResult[Any], result).rowcount
