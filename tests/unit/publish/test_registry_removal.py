"""A worker's registry drops the snapshots of deleted categories at its next refresh, and never
one that a regeneration in the same process installed while the refresh was reading."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.publish import registry as registry_module
from feedsvc.publish.registry import SnapshotRegistry

from tests.helpers.app import services


@pytest.fixture
def rendered(newsroom: Flask) -> Flask:
    assert "thoi-su" in services(newsroom).registry.snapshots
    return newsroom


def test_a_snapshot_no_longer_stored_is_dropped(rendered: Flask) -> None:
    s = services(rendered)
    registry = SnapshotRegistry()
    registry.refresh(s.db)
    assert "/feeds/kinh-te.rss" in registry.routes
    with s.db.writing() as session:
        store.delete_article(session, "a2", s.clock.now())  # kinh-te's only article
        assert store.delete_category(session, "kinh-te", s.clock.now()) == 0
    registry.refresh(s.db)
    assert "kinh-te" not in registry.snapshots
    assert not [path for path in registry.routes if path.startswith("/feeds/kinh-te.")]
    assert "/feeds/thoi-su.rss" in registry.routes and "/feeds/all.rss" in registry.routes


def test_a_snapshot_installed_during_a_refresh_is_kept(
    rendered: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services(rendered)
    registry = SnapshotRegistry()
    newer = s.registry.snapshots["thoi-su"]
    read = store.snapshot_versions

    def read_before_it_was_saved(session: Session) -> dict[str, int]:
        versions = read(session)
        registry.install(newer)  # this process's regeneration saved and installed it meanwhile
        return {key: version for key, version in versions.items() if key != "thoi-su"}

    monkeypatch.setattr(registry_module.store, "snapshot_versions", read_before_it_was_saved)
    registry.refresh(s.db)
    assert registry.snapshots["thoi-su"] is newer
    assert "/feeds/thoi-su.rss" in registry.routes
