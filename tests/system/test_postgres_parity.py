"""The same records render byte-identical feeds on SQLite and PostgreSQL: a body of about 1 MB,
time stamps in many offsets (and microseconds), ties on the publication time broken by id in
byte order (the PostgreSQL database here sorts text by ICU en-US unless told otherwise), and the
characters removed on input. Both apps run on the same FrozenClock script; every response of the
feeds, pages and API is compared byte for byte, then checked for what it must say."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from feedsvc import create_app
from feedsvc.clock import FrozenClock
from feedsvc.store import schema
from feedsvc.store.db import Database

from tests.helpers.app import START, article, category, load, services
from tests.helpers.instances import item_ids, pg_admin, pg_admin_url, requires_postgres

pytestmark = [pytest.mark.postgres, requires_postgres]

TOKEN = "parity-token"
SLUGS = ("thoi-su", "kinh-te")
FEEDS = [f"/feeds/{key}.{fmt}" for key in ("all", *SLUGS) for fmt in ("rss", "atom", "json")]
PAGES = ["/", "/feeds.opml"]
# Byte order ("C") and en-US order disagree about every one of these.
TIE_IDS = ["a-1", "A1", "a.1", "a1", "a:1", "B0", "a-2", "Z9", "0a"]
TIE_TIMES = [  # one instant, written in three offsets
    "2026-11-19T12:00:00+07:00",
    "2026-11-19T05:00:00Z",
    "2026-11-18T23:00:00-06:00",
]
ZONED = {  # id -> (published_at as sent, the instant as the API gives it back)
    "tz-minus12": ("2026-11-18T10:00:00-12:00", "2026-11-18T22:00:00Z"),
    "tz-plus14": ("2026-11-19T13:30:00+14:00", "2026-11-18T23:30:00Z"),
    "tz-plus0545": ("2026-11-19T03:15:00.000001+05:45", "2026-11-18T21:30:00.000001Z"),
    "tz-micro": ("2026-11-19T03:15:00.999999+05:45", "2026-11-18T21:30:00.999999Z"),
    "tz-utc": ("2026-11-19T00:00:00+00:00", "2026-11-19T00:00:00Z"),
    "tz-naive": ("2026-11-19T06:59:59", "2026-11-18T23:59:59Z"),  # read in Asia/Ho_Chi_Minh
}
DIRTY_TITLE = "Tin\x00 nóng\x07 \x85Hồ\ufffe Ho\u0300a\uffff\ud800 Bình 🇻🇳"
CLEAN_TITLE = "Tin nóng Hồ Hòa Bình 🇻🇳"


def long_body() -> str:
    """About 1 MB of HTML in Vietnamese (multi-byte UTF-8 throughout)."""
    paragraph = (
        "<p>Đồn Biên phòng Cửa khẩu Quốc tế phối hợp tuần tra song phương, bảo vệ vững chắc chủ "
        "quyền lãnh thổ, an ninh biên giới quốc gia; đoạn {i} — «ổn định» & ‘bền vững’.</p>\n"
    )
    parts: list[str] = []
    size, i = 0, 0
    while size < 1_000_000:
        part = paragraph.format(i=i)
        parts.append(part)
        size += len(part.encode())
        i += 1
    return "".join(parts)


def records() -> list[dict[str, Any]]:
    """Every article of the scenario."""
    body = long_body()
    found = [
        article(
            "long-1",
            *SLUGS,
            published_at="2026-11-19T20:00:00+07:00",
            updated_at="2026-11-19T14:30:00.5+01:00",
            content_html=body,
            summary="Sapo " * 2000,
            image={
                "url": "https://bienphong.example/anh/lon.jpg",
                "caption": "Ảnh\x01 lớn",
                "mime_type": "image/jpeg",
                "length": 5_000_000_000,  # beyond 32 bits
            },
        ),
        article(
            "dirty-1",
            SLUGS[0],
            title=DIRTY_TITLE,
            published_at="2026-11-19T19:00:00+07:00",
            summary="a\u0301 e\u0302\u0301 \x9fkết\x1b thúc",
            content_html="<p>x\x0by&#x1;z</p>",
        ),  # fmt: skip
        article("embargoed", SLUGS[1], published_at="2026-11-20T10:01:00+07:00"),
        article("deleted-1", SLUGS[1], published_at="2026-11-19T18:00:00+07:00"),
    ]
    for i, article_id in enumerate(TIE_IDS):
        found.append(article(article_id, SLUGS[i % 2], published_at=TIE_TIMES[i % 3]))
    for article_id, (published, _) in ZONED.items():
        found.append(article(article_id, SLUGS[1], published_at=published))
    return found


@contextmanager
def pg_database_en_us() -> Iterator[str]:
    """A migrated PostgreSQL database whose default collation is ICU en-US (not byte order)."""
    name = f"feedsvc_parity_{uuid.uuid4().hex[:10]}"
    with pg_admin() as conn:
        conn.execute(
            text(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        )
    url = make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(url)
        schema.upgrade(db)
        db.dispose()
        yield url
    finally:
        with pg_admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_app(url: str, clock: FrozenClock) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "CLOCK": clock,
            "FEEDSVC_DATABASE_URL": url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": "http://feeds.test",
            "FEEDSVC_SITE_URL": "https://bienphong.example",
            "FEEDSVC_API_TOKENS": TOKEN,
        }
    )


Transcript = dict[str, tuple[int, list[tuple[str, str]], bytes]]


def responses(app: Flask, step: str) -> Transcript:
    """Every feed (both encodings), page and stored article, as sent (Date left out)."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    got: Transcript = {}
    requests: list[tuple[str, dict[str, str]]] = [
        (path, {"Accept-Encoding": enc}) for path in FEEDS + PAGES for enc in ("identity", "gzip")
    ]
    requests += [(f"/api/v1/articles/{r['id']}", auth) for r in records()]
    for path, headers in requests:
        response = client.get(path, headers=headers)
        kept = [(k, v) for k, v in response.headers.items() if k != "Date"]
        got[f"{step} {path} {headers}"] = (response.status_code, kept, response.get_data())
    return got


def scenario(url: str) -> Transcript:
    """Store, render, edit, delete, let an embargo lift, render again: what a reader saw."""
    clock = FrozenClock(START)
    app = make_app(url, clock)
    try:
        load(app, [category(SLUGS[0], "Thời sự"), category(SLUGS[1], "Kinh tế")], records())
        assert services(app).regenerator.run().ok
        seen = responses(app, "first")
        clock.advance(90)  # past the embargo (10:01 in Hà Nội = 03:01 UTC)
        client = app.test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        edited = article("a-1", SLUGS[0], published_at=TIE_TIMES[0], title="Sửa\x0c lại")
        assert client.put("/api/v1/articles/a-1", json=edited, headers=auth).status_code == 200
        assert client.delete("/api/v1/articles/deleted-1", headers=auth).status_code == 204
        assert services(app).regenerator.run().ok
        seen.update(responses(app, "second"))
        return seen
    finally:
        services(app).shutdown()


def test_sqlite_and_postgresql_render_identical_bytes(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'parity.db'}"
    db = Database(sqlite_url)
    schema.upgrade(db)
    db.dispose()
    on_sqlite = scenario(sqlite_url)
    with pg_database_en_us() as pg_url:
        on_postgres = scenario(pg_url)

    assert on_sqlite.keys() == on_postgres.keys()
    for key, (status, headers, body) in on_sqlite.items():
        pg_status, pg_headers, pg_body = on_postgres[key]
        assert (status, headers) == (pg_status, pg_headers), key
        if body != pg_body:
            at = next(i for i, (a, b) in enumerate(zip(body, pg_body, strict=False)) if a != b)
            pytest.fail(f"{key}: bodies differ at byte {at}: {body[at - 40 : at + 40]!r} vs "
                        f"{pg_body[at - 40 : at + 40]!r}")  # fmt: skip
    check_what_they_say(on_sqlite)


def check_what_they_say(seen: Transcript) -> None:
    """Identical is not enough: the shared answer must also be right."""
    identity = {"Accept-Encoding": "identity"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    gone = f"second /api/v1/articles/deleted-1 {auth}"
    for key, (status, _, _) in seen.items():
        assert status == (404 if key == gone else 200), key

    def body(step: str, path: str, headers: dict[str, str] = identity) -> bytes:
        status, _, data = seen[f"{step} {path} {headers}"]
        assert status == 200, (step, path, status)
        return data

    first = [i.rsplit("/", 1)[1] for i in item_ids("x.json", body("first", "/feeds/all.json"))]
    # Newest first; the instant shared by TIE_IDS is broken by id in byte order, descending.
    ties = [i for i in first if i in TIE_IDS]
    assert ties == sorted(TIE_IDS, reverse=True)
    assert first[:2] == ["long-1", "dirty-1"]
    assert "embargoed" not in first
    zoned = [i for i in first if i in ZONED]
    assert zoned == sorted(ZONED, key=lambda i: ZONED[i][1], reverse=True)

    second = [i.rsplit("/", 1)[1] for i in item_ids("x.json", body("second", "/feeds/all.json"))]
    assert second[0] == "embargoed" and "deleted-1" not in second
    assert [i for i in second if i in TIE_IDS] == ties

    feed = json.loads(body("first", "/feeds/all.json"))
    items = {item["id"].rsplit("/", 1)[1]: item for item in feed["items"]}
    assert len(items["long-1"]["content_html"].encode()) > 1_000_000
    assert items["long-1"]["date_modified"] == "2026-11-19T20:30:00+07:00"  # shown in Hà Nội
    assert items["dirty-1"]["title"] == CLEAN_TITLE
    assert items["tz-plus14"]["date_published"] == "2026-11-19T06:30:00+07:00"

    for article_id, (_, instant) in ZONED.items():
        stored = json.loads(body("first", f"/api/v1/articles/{article_id}", auth))
        assert stored["published_at"] == instant, article_id
    dirty = json.loads(body("first", "/api/v1/articles/dirty-1", auth))
    assert (dirty["title"], dirty["summary"]) == (CLEAN_TITLE, "á ế kết thúc")
    assert dirty["content_html"] == "<p>xyz</p>"
    long_stored = json.loads(body("first", "/api/v1/articles/long-1", auth))
    assert long_stored["image"] == {
        "url": "https://bienphong.example/anh/lon.jpg",
        "caption": "Ảnh lớn",
        "mime_type": "image/jpeg",
        "length": 5_000_000_000,
    }
    assert long_stored["updated_at"] == "2026-11-19T13:30:00.500000Z"
    # Sanitised on input (a bare "&" serialised as "&amp;"), and otherwise all of it, kept.
    assert long_stored["content_html"] == long_body().replace(" & ", " &amp; ").strip()
    edited = json.loads(body("second", "/api/v1/articles/a-1", auth))
    assert edited["title"] == "Sửa lại"
    assert datetime.fromisoformat(edited["published_at"]) == datetime(2026, 11, 19, 5, tzinfo=UTC)
