"""A database created by the first migration, with data in it, is upgraded to the newest schema
by ``flask --app wsgi init-db`` and keeps every record; the service then works on it.

The rows are written with the columns of migration 0001 (frozen history), through tables
reflected from the database itself, so this test keeps holding as later migrations arrive.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, insert

from feedsvc import create_app
from feedsvc.clock import FrozenClock
from feedsvc.store import schema
from feedsvc.store.db import Database

from tests.helpers.app import START, services
from tests.helpers.instances import empty_database, item_ids, store_params
from tests.helpers.paths import REPO

FIRST = "0001"
TOKEN = "migration-token"
PUBLISHED = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 19, 2, 45, 0, 250000, tzinfo=UTC)


def rows_at_first_revision(db: Database) -> None:
    """A category, two articles (one deleted) and the bookkeeping, as 0001 stored them."""
    tables = MetaData()
    tables.reflect(db.engine)

    def when(value: datetime) -> datetime:
        # What the UTCDateTime column type writes: naive UTC on SQLite, aware on PostgreSQL.
        return value.replace(tzinfo=None) if db.is_sqlite else value

    def article(article_id: str, title: str, deleted: datetime | None) -> dict[str, Any]:
        return {
            "id": article_id,
            "url": f"https://bienphong.example/{article_id}.html",
            "title": title,
            "summary": "Sapo của bài.",
            "content_html": "<p>Nội dung <b>đầy đủ</b>.</p>",
            "author": "Hồng Pha",
            "image_url": "https://bienphong.example/anh.jpg",
            "image_caption": "Ảnh minh họa",
            "image_mime_type": "image/jpeg",
            "image_length": 123456,
            "published_at": when(PUBLISHED),
            "updated_at": when(LATER),
            "deleted_at": None if deleted is None else when(deleted),
            "modified_at": when(LATER),
            "record_hash": "0" * 64,
        }

    with db.engine.begin() as conn:
        conn.execute(
            insert(tables.tables["categories"]),
            [{"slug": "thoi-su", "name": "Thời sự", "description": "Tin trong nước",
              "created_at": when(PUBLISHED), "updated_at": when(PUBLISHED)}],
        )  # fmt: skip
        conn.execute(
            insert(tables.tables["articles"]),
            [article("kept-1", "Bài được giữ", None), article("gone-1", "Bài đã xoá", LATER)],
        )
        conn.execute(
            insert(tables.tables["article_categories"]),
            [
                {"category_slug": "thoi-su", "article_id": aid, "position": 0,
                 "published_at": when(PUBLISHED), "deleted": aid == "gone-1"}
                for aid in ("kept-1", "gone-1")
            ],
        )  # fmt: skip
        conn.execute(
            insert(tables.tables["feed_states"]),
            [{"key": key, "change_seq": 2, "rendered_seq": -1} for key in ("all", "thoi-su")],
        )
        conn.execute(insert(tables.tables["counters"]), [{"name": "changes", "value": 2}])
        conn.execute(
            insert(tables.tables["meta"]),
            [{"key": "tag_authority", "value": "bienphong.example,2026"}],
        )


def env_for(url: str) -> dict[str, str]:
    return {
        "FEEDSVC_DATABASE_URL": url,
        "FEEDSVC_SITE_URL": "https://bienphong.example",
        "FEEDSVC_BASE_URL": "http://feeds.test",
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_SCHEDULER": "off",
    }


def init_db(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "flask"), "--app", "wsgi", "init-db"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", store_params())
def test_first_revision_upgrades_to_head_and_keeps_its_data(kind: str, tmp_path: Path) -> None:
    with empty_database(kind, tmp_path) as url:
        db = Database(url)
        schema.upgrade(db, FIRST)
        assert schema.current_revision(db) == FIRST
        rows_at_first_revision(db)
        db.dispose()

        env = env_for(url)
        for _ in range(2):  # and safe to run again
            done = init_db(env)
            assert done.returncode == 0, done.stderr
            assert f"database at revision {schema.head_revision()}" in done.stdout

        db = Database(url)
        try:
            assert schema.current_revision(db) == schema.head_revision()
        finally:
            db.dispose()
        check_service_on(env)


def check_service_on(env: dict[str, str]) -> None:
    """The upgraded database serves its old records: API, feeds, category list, tag ids."""
    app = create_app({**env, "TESTING": True, "CLOCK": FrozenClock(START)})
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        kept = client.get("/api/v1/articles/kept-1", headers=auth)
        assert kept.status_code == 200
        record = kept.get_json()
        assert record["title"] == "Bài được giữ"
        assert record["categories"] == ["thoi-su"]
        assert record["image"]["caption"] == "Ảnh minh họa"
        assert record["published_at"] == "2026-11-19T01:30:00Z"
        assert record["updated_at"] == "2026-11-19T02:45:00.250000Z"
        assert client.get("/api/v1/articles/gone-1", headers=auth).status_code == 404

        assert services(app).regenerator.run().ok
        for path in ("/feeds/all.json", "/feeds/thoi-su.rss", "/feeds/thoi-su.atom"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert item_ids(path, response.get_data()) == [
                "tag:bienphong.example,2026:article/kept-1"
            ]
        feed = json.loads(client.get("/feeds/thoi-su.json").get_data())
        assert feed["title"].endswith("Thời sự")
        assert "Thời sự" in client.get("/").get_data(as_text=True)

        # And it takes new writes.
        new = dict(record, id="new-1", title="Bài mới")
        assert client.put("/api/v1/articles/new-1", json=new, headers=auth).status_code == 201
    finally:
        services(app).shutdown()
