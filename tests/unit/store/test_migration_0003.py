"""Migration 0003 converts the markup stored in plain-text fields before it, and the feeds follow.

Rows are written at revision 0002 the way the code before it stored them (markup kept, the record
hash of the unconverted record), through tables reflected from the database; the feeds are
rendered; then the database is upgraded to the head and regenerated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from sqlalchemy import MetaData, insert, select, text

from feedsvc import create_app
from feedsvc.clock import FrozenClock
from feedsvc.ingest.records import ArticleRecord, ImageRecord
from feedsvc.ingest.store_records import store_articles
from feedsvc.store import record_hash, schema
from feedsvc.store.db import Database

from tests.helpers.app import START, TOKENS, services
from tests.helpers.instances import empty_database, store_params

PUBLISHED = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)
RAW_TITLE = "AT&amp;T <b>đậm</b> &amp; nhiệt độ < 5°C"
TITLE = "AT&T đậm & nhiệt độ < 5°C"


def raw_article(article_id: str, title: str, **fields: Any) -> dict[str, Any]:
    """An article record as a CMS sent it, markup and all."""
    record: dict[str, Any] = {
        "id": article_id,
        "url": f"https://bienphong.example/{article_id}.html",
        "title": title,
        "summary": "Sapo <i>nghiêng</i>\n&quot;trích&quot;",
        "content_html": "<p>Nội dung <b>đầy đủ</b>.</p>",
        "author": "<b>Hồng Pha</b>",
        "categories": ["thoi-su", "quoc-phong"],
        "image": {"url": "https://bienphong.example/anh.jpg", "caption": "Ảnh: <em>Hồng Pha</em>"},
        "published_at": "2026-11-19T08:30:00+07:00",
    }
    record.update(fields)
    return record


def stored_before(raw: dict[str, Any]) -> dict[str, Any]:
    """The row the code before 0003 wrote for ``raw``: text as sent, its hash over that text."""
    image = ImageRecord(raw["image"]["url"], raw["image"]["caption"], None, None)
    record = ArticleRecord(
        id=raw["id"],
        url=raw["url"],
        title=raw["title"],
        summary=raw["summary"],
        content_html=raw["content_html"],
        author=raw["author"],
        categories=tuple(raw["categories"]),
        image=image,
        published_at=PUBLISHED,
        updated_at=None,
    )
    return {
        "id": record.id,
        "url": record.url,
        "title": record.title,
        "summary": record.summary,
        "content_html": record.content_html,
        "author": record.author,
        "image_url": image.url,
        "image_caption": image.caption,
        "image_mime_type": None,
        "image_length": None,
        "published_at": PUBLISHED,
        "updated_at": None,
        "deleted_at": None,
        "modified_at": PUBLISHED,
        "record_hash": record_hash(record),
    }


PLAIN = raw_article("plain-1", "Đồn Biên phòng tuần tra", summary="Sapo.", author="Hồng Pha")
PLAIN["image"]["caption"] = "Ảnh: Hồng Pha"
MARKED = raw_article("marked-1", RAW_TITLE)
ONLY_MARKUP = raw_article(
    "markup-only",
    "<img src=x>",
    summary=None,
    author=None,
    image={"url": "https://bienphong.example/anh.jpg", "caption": "Ảnh"},
)


def write_rows_at_0002(db: Database) -> None:
    """Two categories (one with markup) and three articles, as revision 0002's code stored them."""
    tables = MetaData()
    tables.reflect(db.engine)

    def when(row: dict[str, Any]) -> dict[str, Any]:
        # What the UTCDateTime column type writes: naive UTC on SQLite, aware on PostgreSQL.
        fix = (lambda v: v.replace(tzinfo=None)) if db.is_sqlite else (lambda v: v)
        return {k: fix(v) if isinstance(v, datetime) else v for k, v in row.items()}

    articles = [PLAIN, MARKED, ONLY_MARKUP]
    categories = [
        {"slug": "thoi-su", "name": "Thời sự", "description": "Tin trong nước"},
        {
            "slug": "quoc-phong",
            "name": "<b>Quốc phòng</b> &amp; An ninh",
            "description": "<p>Tin</p>",
        },
    ]
    with db.engine.begin() as conn:
        conn.execute(
            insert(tables.tables["categories"]),
            [when({**c, "created_at": PUBLISHED, "updated_at": PUBLISHED}) for c in categories],
        )
        conn.execute(insert(tables.tables["articles"]), [when(stored_before(a)) for a in articles])
        conn.execute(
            insert(tables.tables["article_categories"]),
            [
                when({"category_slug": slug, "article_id": a["id"], "position": position,
                      "published_at": PUBLISHED, "deleted": False})
                for a in articles
                for position, slug in enumerate(a["categories"])
            ],
        )  # fmt: skip


@pytest.fixture(params=store_params())
def database_at_0002(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with empty_database(request.param, tmp_path) as url:
        db = Database(url)
        schema.upgrade(db, "0002")
        write_rows_at_0002(db)
        try:
            yield db
        finally:
            db.dispose()


def app_on(db: Database) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "CLOCK": FrozenClock(START),
            "FEEDSVC_DATABASE_URL": db.url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": "http://feeds.test",
            "FEEDSVC_SITE_URL": "https://bienphong.example",
            "FEEDSVC_API_TOKENS": ",".join(TOKENS),
        }
    )


def titles(app: Flask, path: str) -> dict[str, str]:
    """Entry id suffix -> title, as feedparser reads the feed."""
    parsed = feedparser.parse(app.test_client().get(path).data)
    return {entry.id.rsplit("/", 1)[1]: entry.title for entry in parsed.entries}


def test_stored_markup_is_converted_and_the_feeds_regenerated(database_at_0002: Database) -> None:
    db = database_at_0002

    def stored_title() -> str:
        # Raw SQL: the code of today reads columns later revisions add, so no app runs at 0002.
        with db.engine.connect() as conn:
            found = conn.execute(text("SELECT title FROM articles WHERE id = 'marked-1'"))
            return str(found.scalar_one())

    assert stored_title() == RAW_TITLE  # literal tags, as revision 0002's code stored them
    schema.upgrade(db, "0003")
    assert schema.current_revision(db) == "0003"
    assert stored_title() == TITLE
    schema.upgrade(db)

    app = app_on(db)
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {TOKENS[0]}"}
        marked = client.get("/api/v1/articles/marked-1", headers=auth).get_json()
        assert marked["title"] == TITLE
        assert marked["summary"] == 'Sapo nghiêng "trích"'
        assert marked["author"] == "Hồng Pha"
        assert marked["image"]["caption"] == "Ảnh: Hồng Pha"
        assert marked["categories"] == ["thoi-su", "quoc-phong"]
        # Nothing would be left of this title: it stays as it was (and was logged).
        kept = client.get("/api/v1/articles/markup-only", headers=auth).get_json()
        assert kept["title"] == "<img src=x>"

        result = services(app).regenerator.run()
        assert result.ok and {"all", "thoi-su", "quoc-phong"} <= set(result.rendered)
        for fmt in ("rss", "atom"):
            assert titles(app, f"/feeds/quoc-phong.{fmt}")["marked-1"] == TITLE
            assert titles(app, f"/feeds/all.{fmt}")["plain-1"] == "Đồn Biên phòng tuần tra"
        feed = json.loads(client.get("/feeds/quoc-phong.json").data)
        assert feed["title"].endswith("Quốc phòng & An ninh")
        assert feed["description"] == "Tin"
        item = next(i for i in feed["items"] if i["id"].endswith("/marked-1"))
        assert item["title"] == TITLE and item["authors"] == [{"name": "Hồng Pha"}]
        assert item["tags"] == ["Thời sự", "Quốc phòng & An ninh"]

        # The stored hash is the one ingest computes now: sending the records again (markup
        # and all) changes nothing, so no feed is rendered again for them.
        s = services(app)
        resent = store_articles(s.db, s.settings, s.clock, [PLAIN, MARKED])
        assert [stored.status for stored in resent.stored] == ["unchanged", "unchanged"]
    finally:
        services(app).shutdown()


def test_only_converted_rows_change(database_at_0002: Database) -> None:
    db = database_at_0002
    tables = MetaData()
    tables.reflect(db.engine)
    articles = tables.tables["articles"]

    def rows() -> dict[str, tuple[Any, ...]]:
        with db.engine.connect() as conn:
            query = select(articles.c.id, articles.c.record_hash, articles.c.modified_at)
            return {row.id: tuple(row) for row in conn.execute(query)}

    before = rows()
    schema.upgrade(db)
    after = rows()
    assert after["plain-1"] == before["plain-1"]  # no markup: not touched
    assert after["markup-only"] == before["markup-only"]
    assert after["marked-1"][1] != before["marked-1"][1]
    assert after["marked-1"][2] != before["marked-1"][2]  # a new modified_at: a new fingerprint
    with db.engine.connect() as conn:
        states = conn.execute(select(tables.tables["counters"].c.value)).scalars().all()
    assert states == [1]  # the change counter, created by the migration's mark
