"""``?limit=N``: the newest N items, spliced from the snapshot, each variant with its own ETag."""

from __future__ import annotations

import gzip
import json

import feedparser
import pytest
from flask import Flask
from lxml import etree

from feedsvc.clock import FrozenClock
from feedsvc.publish.snapshot import FormatEntry, ItemSpans, Snapshot, make_entry
from feedsvc.web.limits import LimitCache, LimitError, parse_limit

from tests.helpers.app import article, load, services


@pytest.fixture
def many(newsroom: Flask, clock: FrozenClock) -> Flask:
    clock.advance(5)  # a later second than the newsroom's first version
    load(
        newsroom,
        [],
        [
            article(
                f"m{i:02d}", "thoi-su", published_at=f"2026-11-18T{i % 24:02d}:0{i % 10}:00+07:00"
            )
            for i in range(12)
        ],
    )
    services(newsroom).regenerator.run()
    return newsroom


def _ids(fmt: str, body: bytes) -> list[str]:
    if fmt == "json":
        return [item["id"] for item in json.loads(body)["items"]]
    return [entry.id for entry in feedparser.parse(body).entries]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
@pytest.mark.parametrize("n", [1, 3, 14, 50])
def test_limit_returns_the_newest_n(many: Flask, fmt: str, n: int) -> None:
    client = many.test_client()
    full = client.get(f"/feeds/thoi-su.{fmt}")
    limited = client.get(f"/feeds/thoi-su.{fmt}?limit={n}")
    assert limited.status_code == 200
    full_ids = _ids(fmt, full.data)
    assert _ids(fmt, limited.data) == full_ids[:n]
    if n < len(full_ids):
        assert limited.headers["ETag"] != full.headers["ETag"]
    else:
        assert limited.data == full.data
    assert limited.headers["Last-Modified"] == full.headers["Last-Modified"]
    assert int(limited.headers["Content-Length"]) == len(limited.data)
    if fmt == "json":
        assert json.loads(limited.data)["feed_url"].endswith(f"/feeds/thoi-su.{fmt}")
    else:
        root = etree.fromstring(limited.data)
        selfs = root.xpath("//*[local-name()='link'][@rel='self']/@href")
        assert selfs == [f"http://feeds.test/feeds/thoi-su.{fmt}"]  # names the unlimited feed
        assert feedparser.parse(limited.data).bozo == 0


@pytest.mark.parametrize("value", ["0", "-1", "abc", "+5", "5_0", "51", "", "05", "1.0", "5%20"])
def test_bad_limits_are_400(many: Flask, value: str) -> None:
    response = many.test_client().get(f"/feeds/thoi-su.rss?limit={value}")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert b"limit" in response.data


def test_limit_given_twice_is_400(many: Flask) -> None:
    assert many.test_client().get("/feeds/thoi-su.rss?limit=2&limit=3").status_code == 400


def test_conditional_requests_on_a_limited_variant(many: Flask) -> None:
    client = many.test_client()
    first = client.get("/feeds/thoi-su.atom?limit=2")
    etag = first.headers["ETag"]
    assert (
        client.get("/feeds/thoi-su.atom?limit=2", headers={"If-None-Match": etag}).status_code
        == 304
    )
    # Another N is another representation.
    assert (
        client.get("/feeds/thoi-su.atom?limit=3", headers={"If-None-Match": etag}).status_code
        == 200
    )
    assert client.get("/feeds/thoi-su.atom", headers={"If-None-Match": etag}).status_code == 200
    zipped = client.get("/feeds/thoi-su.atom?limit=2", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["ETag"] != etag
    assert gzip.decompress(zipped.data) == first.data
    lm = first.headers["Last-Modified"]
    assert (
        client.get("/feeds/thoi-su.atom?limit=2", headers={"If-Modified-Since": lm}).status_code
        == 304
    )


def test_unrelated_parameters_are_ignored(many: Flask) -> None:
    client = many.test_client()
    plain = client.get("/feeds/thoi-su.json?limit=2")
    noisy = client.get("/feeds/thoi-su.json?utm_source=zalo&limit=2&x=")
    assert noisy.data == plain.data and noisy.headers["ETag"] == plain.headers["ETag"]
    assert client.get("/feeds/thoi-su.json?limits=0").status_code == 200


def _entry(key: str, size: int, version: int = 1) -> tuple[Snapshot, FormatEntry]:
    snapshot = Snapshot(key, version, 0, True, "fp", 60)
    items = tuple((10 + i * size, 10 + (i + 1) * size) for i in range(4))
    body = b"h" * 10 + b"i" * (4 * size) + b"t"
    spans = ItemSpans(10, items, 10 + 4 * size, b"")
    return snapshot, make_entry("rss", "application/rss+xml", body, snapshot, spans)


def test_the_limit_cache_is_bounded_by_bytes() -> None:
    cache = LimitCache(max_bytes=50_000)
    for i in range(20):
        snapshot, entry = _entry(f"f{i}", 5_000)
        cache.get(snapshot, entry, 2)
    assert cache.bytes <= 50_000
    assert 1 <= len(cache) < 20


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", None),
        ("a=1&b", None),
        ("limit=10", 10),
        ("a=1&limit=5&b=&c", 5),
        ("%6Cimit=%31%30", 10),  # name and value decoded as parse_qsl decodes them
        ("limit=50", 50),
        ("limits=5&xlimit=3&li+mit=2", None),  # other names
        ("limit=51", LimitError),
        ("limit=0", LimitError),
        ("limit=05", LimitError),
        ("limit=", LimitError),
        ("limit", LimitError),
        ("limit=+5", LimitError),  # "+" is a space
        ("limit=1&limit=1", LimitError),
        ("limit=" + "1" * 5000, LimitError),  # never reaches int()
        ("limit=5&" + "a" * 8184, 5),  # 8192 characters: read
        ("limit=5&" + "a" * 8185, LimitError),  # longer: refused unread
    ],
)
def test_parse_limit(query: str, expected: int | None | type[LimitError]) -> None:
    if expected is LimitError:
        with pytest.raises(LimitError):
            parse_limit(query, 50)
    else:
        assert parse_limit(query, 50) == expected
