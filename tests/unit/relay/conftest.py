"""The relay's unit tests: one ``db`` on each kind of migrated database (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feedsvc.store.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()
