"""Apps in this process and what tests put in them: the test clock's start, the API tokens,
valid records, loading them the way the CLI and the API do, an app's services, and the lines
its log handler writes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from feedsvc import create_app, services_of
from feedsvc.ingest.store_records import store_articles, store_category
from feedsvc.services import Services

START = datetime(2026, 11, 20, 3, 0, 0, tzinfo=UTC)  # 10:00 in Hà Nội
TOKENS = ("test-token-1", "test-token-2")


def services(app: Flask) -> Services:
    """The app's services, through feedsvc's own typed accessor."""
    return services_of(app)


def another_worker(app: Flask) -> Flask:
    """A second app on the same database and clock: another worker or instance."""
    s = services(app)
    return create_app(
        {
            "FEEDSVC_DATABASE_URL": s.settings.database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": s.settings.base_url,
            "FEEDSVC_SITE_URL": s.settings.site_url,
            "CLOCK": s.clock,
        }
    )


def category(slug: str, name: str, description: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"slug": slug, "name": name}
    if description:
        record["description"] = description
    return record


def article(article_id: str, *categories: str, **fields: Any) -> dict[str, Any]:
    """A valid article record; ``fields`` override or add fields."""
    record: dict[str, Any] = {
        "id": article_id,
        "url": f"https://bienphong.example/{article_id}.html",
        "title": f"Tin {article_id}: Đồn Biên phòng tuần tra",
        "summary": f"Biên phòng - Tóm tắt {article_id}.",
        "content_html": f"<p>Nội dung {article_id}.</p>",
        "author": "Hồng Pha",
        "categories": list(categories) or ["thoi-su"],
        "published_at": "2026-11-19T08:00:00+07:00",
    }
    record.update(fields)
    return record


def load(app: Flask, categories: list[dict[str, Any]], articles: list[dict[str, Any]]) -> None:
    """Store records through the same code path as the CLI and the API."""
    s = services(app)
    for raw in categories:
        store_category(s.db, s.clock, raw)
    if articles:
        result = store_articles(s.db, s.settings, s.clock, articles)
        assert not result.rejected, [r.reason for r in result.rejected]


NEWSROOM = [
    category("thoi-su", "Thời sự", "Tin thời sự trong nước"),
    category("quoc-phong-an-ninh", "Quốc phòng - An ninh"),
    category("kinh-te", "Kinh tế"),
]


@contextmanager
def log_lines() -> Iterator[io.StringIO]:
    """What the handler create_app installed writes, captured (its formatter and filter)."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_feedsvc", False))
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)
