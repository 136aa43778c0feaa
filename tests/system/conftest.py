"""Every test in this folder is a system test: it starts real servers or processes, drives nginx
or a browser, or drills faults and PostgreSQL. They are marked ``system`` here, in one place, so
``pytest -m "not system"`` runs the unit and security tests alone."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests collected from this folder (the hook sees the whole session's items)."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.system)
