"""The UTC column type writes on SQLite exactly the text SQLAlchemy's own DATETIME writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.dialects import sqlite

from feedsvc.store.models import UTCDateTime

DIALECT = sqlite.dialect()
TIMES = [
    datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 26, 14, 5, 9, 123456, tzinfo=timezone(timedelta(hours=7))),
    datetime(2023, 2, 3, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 16, 59, tzinfo=timezone(timedelta(hours=7))),
]


@pytest.mark.parametrize("value", TIMES, ids=[t.isoformat() for t in TIMES])
def test_sqlite_text_is_sqlalchemys(value: datetime) -> None:
    column = UTCDateTime().dialect_impl(DIALECT)  # as a compiled statement gets it
    ours = column.bind_processor(DIALECT)
    # What the type wrote before: process_bind_param, then SQLite's DATETIME processor.
    theirs = TypeDecorator.bind_processor(column, DIALECT)
    assert ours is not None and theirs is not None
    text = ours(value)
    assert text == theirs(value)
    read = DateTime(timezone=True).dialect_impl(DIALECT).result_processor(DIALECT, None)
    assert read is not None
    assert UTCDateTime().process_result_value(read(text), DIALECT) == value


def test_none_and_naive_values() -> None:
    ours = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    assert ours is not None and ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 1, 1))
