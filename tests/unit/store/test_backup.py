"""``feedsvc backup``: SQLite's online backup while the service has the database open (and a
read transaction running), the copy complete, consistent and serving the same feeds;
PostgreSQL refused with the tool to use."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from feedsvc import create_app
from feedsvc.clock import FrozenClock

from tests.helpers.app import NEWSROOM, article, load, services


@pytest.fixture
def sqlite_newsroom(sqlite_template: Path, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    """The newsroom on SQLite alone: the backup command is SQLite's."""
    path = tmp_path / "feedsvc.db"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {
            "TESTING": True,
            "CLOCK": clock,
            "FEEDSVC_DATABASE_URL": f"sqlite:///{path}",
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": "http://feeds.test",
        }
    )
    load(app, NEWSROOM, [article(aid, "thoi-su") for aid in ("a1", "a2", "a3")])
    assert services(app).regenerator.run().ok
    yield app
    services(app).shutdown()


def test_an_online_backup_serves_the_same_feeds(sqlite_newsroom: Flask, tmp_path: Path) -> None:
    newsroom = sqlite_newsroom
    s = services(newsroom)
    copy = tmp_path / "backup" / "feedsvc.db"
    copy.parent.mkdir()
    client = newsroom.test_client()
    before = {p: client.get(p).get_data() for p in ("/feeds/all.rss", "/feeds/thoi-su.atom")}
    assert all(b"a3" in body for body in before.values())  # rendered, not a 503
    with s.db.reading() as session:  # a reader in the middle of a transaction
        session.connection().exec_driver_sql("SELECT count(*) FROM articles").fetchall()
        result = newsroom.test_cli_runner().invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    load(newsroom, [], [article("after-backup", "thoi-su")])  # the service writes on
    assert not copy.with_name("feedsvc.db.partial").exists()
    with sqlite3.connect(copy) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        ids = {row[0] for row in check.execute("SELECT id FROM articles")}
    assert ids == {"a1", "a2", "a3"}
    restored = create_app(
        {
            "TESTING": True,
            "CLOCK": s.clock,
            "FEEDSVC_DATABASE_URL": f"sqlite:///{copy}",
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": s.settings.base_url,
            "FEEDSVC_SITE_URL": s.settings.site_url,
        }
    )
    try:
        served = restored.test_client()
        assert {p: served.get(p).get_data() for p in before} == before
    finally:
        services(restored).shutdown()


def test_postgresql_is_told_to_use_pg_dump(tmp_path: Path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "FEEDSVC_DATABASE_URL": "postgresql://feedsvc@127.0.0.1:1/feedsvc",
            "FEEDSVC_SCHEDULER": "off",
        }
    )
    try:
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    finally:
        services(app).shutdown()
    assert result.exit_code == 1
    assert "pg_dump -Fc" in result.output
    assert not (tmp_path / "x.db").exists()
