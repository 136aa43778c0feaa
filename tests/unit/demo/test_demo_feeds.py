"""Every demo feed, served by the real app, parsed by independent clients and the schema."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from lxml import etree

from tests.helpers.app import services
from tests.helpers.paths import ATOM_RNG

KEYS = [
    "all",
    "thoi-su",
    "quoc-phong-an-ninh",
    "bien-gioi-lanh-tho",
    "kinh-te",
    "xa-hoi",
    "the-gioi",
]


@pytest.fixture
def demo(app: Flask, runner: FlaskCliRunner) -> Flask:
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    result = services(app).regenerator.run()
    assert result.ok and "all" in result.rendered
    return app


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_every_demo_xml_feed_parses_cleanly(demo: Flask, fmt: str) -> None:
    client = demo.test_client()
    for key in KEYS:
        body = client.get(f"/feeds/{key}.{fmt}").data
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, (key, parsed.get("bozo_exception"))
        assert parsed.feed.title.startswith("Báo Biên phòng – ")
        assert parsed.feed.link == "https://bienphong.example"
        assert parsed.feed.language == "vi"
        assert len(parsed.entries) == 50 or key not in ("all", "thoi-su")
        assert parsed.entries, key
        for entry in parsed.entries:
            assert entry.title and _absolute(entry.link)
            assert entry.id.startswith("tag:bienphong.example,2026:article/")
            assert entry.published_parsed is not None
            assert entry.get("tags"), entry.id
            assert any(
                e.get("type", "").startswith("image/") for e in entry.get("enclosures", [])
            ) or ("media_content" in entry)
            if fmt == "rss":
                assert entry.published.endswith("+0700")
            else:
                assert entry.updated.endswith("+07:00")
            assert entry.get("content") and entry.content[0].value


def test_every_demo_atom_feed_is_valid_rfc4287(demo: Flask) -> None:
    if not ATOM_RNG.exists():
        pytest.skip(f"RFC 4287 schema not found at {ATOM_RNG} (../shared is absent)")
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    for key in KEYS:
        document = etree.fromstring(demo.test_client().get(f"/feeds/{key}.atom").data)
        assert schema.validate(document), (key, schema.error_log.last_error)


def test_every_demo_json_feed_is_json_feed_1_1(demo: Flask) -> None:
    client = demo.test_client()
    all_ids = {}
    for key in KEYS:
        data = json.loads(client.get(f"/feeds/{key}.json").data)
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        assert data["feed_url"] == f"http://feeds.test/feeds/{key}.json"
        assert data["home_page_url"] == "https://bienphong.example"
        assert data["language"] == "vi"
        for item in data["items"]:
            assert item["id"].startswith("tag:bienphong.example,2026:article/")
            assert _absolute(item["url"]) and item["title"]
            assert item["date_published"].endswith("+07:00")
            assert "content_html" in item or "content_text" in item
            assert _absolute(item["image"])
            all_ids.setdefault(item["id"], item["title"])
    # Ids are the same item everywhere: one title per id across all feeds.
    assert len(all_ids) >= 50


def test_ids_are_identical_across_formats(demo: Flask) -> None:
    client = demo.test_client()
    for key in KEYS:
        rss = [e.id for e in feedparser.parse(client.get(f"/feeds/{key}.rss").data).entries]
        atom = [e.id for e in feedparser.parse(client.get(f"/feeds/{key}.atom").data).entries]
        js = [i["id"] for i in json.loads(client.get(f"/feeds/{key}.json").data)["items"]]
        assert rss == atom == js
        assert len(set(js)) == len(js)  # in `all`, each article once
