"""Corrections show (issue 14, problem 3): an edit sent without ``updated_at`` moves the item's
updated time in the feeds that carry one (Atom ``<updated>``, JSON Feed ``date_modified``) to
the moment the service accepted it; ids never change; an identical resend changes no byte.

RSS 2.0 has no per-item updated element: its items change (the corrected text) and keep their
``guid``. The store's side (what counts as a correction) is in tests/unit/store/test_articles.py.
"""

from __future__ import annotations

import json
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feedsvc.clock import FrozenClock
from feedsvc.render import RENDERERS

from tests.helpers.app import TOKENS, article, services

AUTH = {"Authorization": f"Bearer {TOKENS[0]}"}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
A1 = "tag:bienphong.example,2026:article/a1"
PUBLISHED = "2026-11-19T08:00:00+07:00"


def _items(client: FlaskClient, fmt: str, key: str = "thoi-su") -> dict[str, dict[str, Any]]:
    """Item id -> its title, published and updated times (None where the format has none)."""
    body = client.get(f"/feeds/{key}.{fmt}").get_data()
    if fmt == "json":
        return {
            i["id"]: {
                "title": i["title"],
                "published": i["date_published"],
                "updated": i["date_modified"],
            }
            for i in json.loads(body)["items"]
        }
    root = etree.fromstring(body)
    if fmt == "atom":
        return {
            e.findtext("a:id", namespaces=ATOM): {
                "title": e.findtext("a:title", namespaces=ATOM),
                "published": e.findtext("a:published", namespaces=ATOM),
                "updated": e.findtext("a:updated", namespaces=ATOM),
            }
            for e in root.iterfind("a:entry", namespaces=ATOM)
        }
    return {
        i.findtext("guid"): {"title": i.findtext("title"), "published": i.findtext("pubDate")}
        for i in root.iter("item")
    }


def _correct(client: FlaskClient, record: dict[str, Any]) -> int:
    """PUT the record through the ingest API; its status code."""
    return client.put(f"/api/v1/articles/{record['id']}", json=record, headers=AUTH).status_code


def _regenerate(app: Flask) -> list[str]:
    result = services(app).regenerator.run()
    assert result.ok, result.failed
    return result.rendered


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("key", ["thoi-su", "all"])
def test_a_correction_without_updated_at_shows(
    newsroom: Flask, clock: FrozenClock, fmt: str, key: str
) -> None:
    client = newsroom.test_client()
    before = _items(client, fmt, key)
    clock.advance(90)  # 10:01:30 in Hà Nội
    corrected = article("a1", "thoi-su", published_at=PUBLISHED, title="Tiêu đề đã đính chính")
    assert _correct(client, corrected) == 200
    assert key in _regenerate(newsroom)
    after = _items(client, fmt, key)
    assert list(after) == list(before)  # the same ids, in the same order
    assert after[A1]["title"] == "Tiêu đề đã đính chính"
    assert after[A1]["published"] == before[A1]["published"]
    if fmt in ("atom", "json"):
        assert before[A1]["updated"] == "2026-11-19T08:00:00+07:00"
        assert after[A1]["updated"] == "2026-11-20T10:01:30+07:00"
    others = [i for i in before if i != A1]
    assert others and all(after[i] == before[i] for i in others)


def test_readers_see_the_new_updated_time(newsroom: Flask, clock: FrozenClock) -> None:
    """What a feed reader library (feedparser, Atom) takes for the entry's modification time
    moves forward."""
    client = newsroom.test_client()

    def entry() -> Any:
        parsed = feedparser.parse(client.get("/feeds/thoi-su.atom").get_data())
        assert not parsed.bozo, parsed.bozo_exception
        (found,) = [e for e in parsed.entries if e.id == A1]
        return found

    first = entry()
    clock.advance(3600)
    _correct(client, article("a1", "thoi-su", published_at=PUBLISHED, summary="Sapo đã sửa."))
    _regenerate(newsroom)
    second = entry()
    assert second.id == first.id
    assert second.updated_parsed > first.updated_parsed
    assert second.published_parsed == first.published_parsed


def test_an_identical_resend_changes_no_byte(newsroom: Flask, clock: FrozenClock) -> None:
    client = newsroom.test_client()
    paths = [f"/feeds/{k}.{f}" for k in ("thoi-su", "all") for f in (*RENDERERS, "html")]
    before = {p: client.get(p).headers["ETag"] for p in paths}
    clock.advance(60)
    record = article("a1", "thoi-su", published_at=PUBLISHED)
    assert _correct(client, {**record, "unknown_cms_field": "v2"}) == 200
    assert _regenerate(newsroom) == []
    assert {p: client.get(p).headers["ETag"] for p in paths} == before


def test_a_correction_undone_before_the_next_run_still_shows(
    newsroom: Flask, clock: FrozenClock
) -> None:
    """Back to the text the last snapshot holds, but corrected twice since: the item must not be
    taken from that snapshot, whose updated time is the old one."""
    client = newsroom.test_client()
    original = article("a1", "thoi-su", published_at=PUBLISHED)
    clock.advance(60)
    _correct(client, {**original, "title": "Sai"})
    clock.advance(60)
    _correct(client, original)  # 10:02 in Hà Nội
    _regenerate(newsroom)
    for fmt in ("atom", "json"):
        assert _items(client, fmt)[A1]["updated"] == "2026-11-20T10:02:00+07:00", fmt


def test_a_dated_edit_shows_the_cms_time_when_it_is_later(
    newsroom: Flask, clock: FrozenClock
) -> None:
    client = newsroom.test_client()
    clock.advance(60)
    record = article("a1", "thoi-su", published_at=PUBLISHED, title="Sửa")
    _correct(client, {**record, "updated_at": "2026-11-20T11:00:00+07:00"})
    _regenerate(newsroom)
    assert _items(client, "atom")[A1]["updated"] == "2026-11-20T11:00:00+07:00"
    assert _items(client, "json")[A1]["updated"] == "2026-11-20T11:00:00+07:00"
