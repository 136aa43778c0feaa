"""``feedsvc export`` then ``import-categories`` and ``import-articles`` into an empty database:
with the clock at one instant for both regenerations, every feed's ETag is identical and every
body byte-identical (issue 16, must show), on SQLite and on PostgreSQL. The newsroom has what a
real archive has: articles in several categories, a corrected article (its item's updated time
moved by the correction), a deleted article, a deleted category, an embargoed article."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree

from feedsvc import create_app
from feedsvc.clock import FrozenClock
from feedsvc.render import PAGES, RENDERERS

from tests.helpers.app import START, article, category, services
from tests.helpers.instances import database, store_params

WRITTEN = START
CORRECTED = START + timedelta(minutes=40)
PUBLISHED = START + timedelta(hours=2)  # both databases regenerate at this instant


@contextmanager
def app_on(url: str, clock: FrozenClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "CLOCK": clock,
            "FEEDSVC_DATABASE_URL": url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": "http://feeds.test",
            "FEEDSVC_SITE_URL": "https://bienphong.example",
            "FEEDSVC_API_TOKENS": "t",
        }
    )
    try:
        yield app
    finally:
        services(app).shutdown()


def cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def put(app: Flask, record: dict[str, Any]) -> None:
    response = app.test_client().put(
        f"/api/v1/articles/{record['id']}", json=record, headers={"Authorization": "Bearer t"}
    )
    assert response.status_code in (200, 201), response.get_json()


def newsroom(app: Flask, clock: FrozenClock) -> None:
    """The demo newsroom, plus the cases an archive has, written at two instants."""
    cli(app, "demo-data")
    client = app.test_client()
    auth = {"Authorization": "Bearer t"}
    extra = category("tam-thoi", "Tạm thời")
    assert client.put("/api/v1/categories/tam-thoi", json=extra, headers=auth).status_code == 201
    assert client.delete("/api/v1/categories/tam-thoi", headers=auth).status_code == 204
    several = article("bp-nhieu", "kinh-te", "thoi-su", "the-gioi")
    several["image"] = {"url": "https://bienphong.example/a.jpg", "caption": "Ảnh: BP"}
    put(app, several)
    put(app, article("bp-sua", "thoi-su", published_at="2026-11-19T07:00:00+07:00"))
    put(app, article("bp-xoa", "thoi-su"))
    put(app, article("bp-hen", "thoi-su", published_at="2026-12-01T07:00:00+07:00"))
    clock.current = CORRECTED
    corrected = article("bp-sua", "thoi-su", published_at="2026-11-19T07:00:00+07:00")
    corrected["title"] = "Tin bp-sua (đã sửa)"
    put(app, corrected)
    assert client.delete("/api/v1/articles/bp-xoa", headers=auth).status_code == 204
    clock.current = PUBLISHED


# Each feed's (path, gzip) → (status, ETag, body, Last-Modified).
Feeds = dict[tuple[str, bool], tuple[int, str, bytes, str]]


def feeds(app: Flask) -> Feeds:
    """Every feed of every category and ``all``, each format, identity and gzip."""
    s = services(app)
    result = s.regenerator.run()
    assert result.ok, result.failed
    with s.db.reading() as session:
        from feedsvc import store

        keys = sorted(store.feed_keys(session))
    found = {}
    client = app.test_client()
    for key in keys:
        for fmt in (*RENDERERS, *PAGES):
            for gz in (False, True):
                path = f"/feeds/{key}.{fmt}"
                response = client.get(path, headers={"Accept-Encoding": "gzip"} if gz else {})
                found[(path, gz)] = (
                    response.status_code,
                    response.headers.get("ETag", ""),
                    response.get_data(),
                    response.headers.get("Last-Modified", ""),
                )
    return found


def round_trip(kind: str, tmp_path: Path, published: datetime) -> tuple[Feeds, Feeds, str, str]:
    """The newsroom's feeds, exported and imported into an empty database that regenerates at
    ``published``: (feeds before, feeds after, the whole export, the copy's whole export)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    categories, articles = tmp_path / "categories.jsonl", tmp_path / "articles.jsonl"
    with database(kind, tmp_path / "a") as source_url:
        source_clock = FrozenClock(WRITTEN)
        with app_on(source_url, source_clock) as source:
            newsroom(source, source_clock)
            before = feeds(source)
            cli(source, "export", "--only", "categories", "--output", str(categories))
            cli(source, "export", "--only", "articles", "--output", str(articles))
            whole = cli(source, "export")
    with database(kind, tmp_path / "b") as target_url:
        with app_on(target_url, FrozenClock(published)) as target:
            cli(target, "import-categories", str(categories))
            cli(target, "import-articles", str(articles))
            after = feeds(target)
            again = cli(target, "export")
    return before, after, whole, again


@pytest.mark.parametrize("kind", store_params())
def test_export_then_import_publishes_the_same_feeds(kind: str, tmp_path: Path) -> None:
    before, after, whole, again = round_trip(kind, tmp_path, PUBLISHED)

    assert set(after) == set(before)
    assert all(status == 200 for status, *_ in before.values())
    for key, (status, etag, body, modified) in before.items():
        assert after[key] == (status, etag, body, modified), key
    # The export of the copy is the export of the original: nothing lost, nothing added.
    assert again == whole
    lines = [json.loads(line) for line in whole.splitlines()]
    slugs = [r["slug"] for r in lines if "slug" in r]
    ids = [r["id"] for r in lines if "id" in r]
    assert lines[: len(slugs)] == [r for r in lines if "slug" in r]  # categories first
    assert "tam-thoi" not in slugs and "bp-xoa" not in ids
    assert {"bp-nhieu", "bp-sua", "bp-hen"} <= set(ids)
    (several,) = [r for r in lines if r.get("id") == "bp-nhieu"]
    assert several["categories"] == ["kinh-te", "thoi-su", "the-gioi"]
    (corrected,) = [r for r in lines if r.get("id") == "bp-sua"]
    assert corrected["updated_at"] == "2026-11-20T03:40:00Z"  # the correction's moment
    assert corrected["title"] == "Tin bp-sua (đã sửa)"


def items_of(path: str, body: bytes) -> list[bytes]:
    """A feed's items, each as canonical bytes: RSS items, Atom entries, JSON Feed items."""
    if path.endswith(".json"):
        return [json.dumps(item, sort_keys=True).encode() for item in json.loads(body)["items"]]
    root = etree.fromstring(body)
    found = root.findall("channel/item") or root.findall("{http://www.w3.org/2005/Atom}entry")
    return [etree.tostring(item, method="c14n") for item in found]


@pytest.mark.parametrize("kind", store_params())
def test_without_a_frozen_clock_the_items_are_byte_identical(kind: str, tmp_path: Path) -> None:
    """Regenerated a day later (not at the instant the original was), every item is the same."""
    before, after, _whole, _again = round_trip(kind, tmp_path, PUBLISHED + timedelta(days=1))

    compared = 0
    for (path, gz), (_status, _etag, body, _modified) in before.items():
        if gz or not path.endswith((".rss", ".atom", ".json")):
            continue
        body2 = after[(path, gz)][2]
        items = items_of(path, body)
        assert items and items_of(path, body2) == items, path
        compared += len(items)
    assert compared > 50
