"""The feed hot path through the real app: conditional requests, gzip, HEAD, 404/405; and its
once-per-process start."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from requests.utils import parse_header_links
from sqlalchemy import event

from feedsvc.http.conditional import format_http_date, parse_http_date
from feedsvc.publish.registry import SnapshotRegistry
from feedsvc.web.hotpath import FeedHotPath

from tests.helpers.app import NEWSROOM, another_worker, article, category, load, services

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@pytest.fixture
def feed(newsroom: Flask) -> tuple[FlaskClient, dict[str, str]]:
    """A client and the validators of /feeds/thoi-su.rss (identity)."""
    client = newsroom.test_client()
    response = client.get("/feeds/thoi-su.rss")
    assert response.status_code == 200
    return client, {"etag": response.headers["ETag"], "lm": response.headers["Last-Modified"]}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_feed_headers(newsroom: Flask, fmt: str) -> None:
    response = newsroom.test_client().get(f"/feeds/thoi-su.{fmt}")
    assert response.status_code == 200
    h = response.headers
    assert h["Content-Type"] == FORMATS[fmt]
    assert h["ETag"].startswith('"') and not h["ETag"].startswith("W/")
    # The interface's "public, max-age", then what shared caches alone read (the default
    # stale-if-error; FEEDSVC_CACHE_SHARED_MAX_AGE and _STALE_WHILE_REVALIDATE are unset).
    assert h["Cache-Control"] == "public, max-age=60, stale-if-error=86400"
    assert h["Vary"] == "Accept-Encoding"
    assert h["X-Content-Type-Options"] == "nosniff"
    keys = f"feedsvc feed.thoi-su feed.thoi-su.{fmt} format.{fmt}"
    assert (h["Surrogate-Key"], h["xkey"]) == (keys, keys)
    assert h["Cache-Tag"] == keys.replace(" ", ",")
    assert int(h["Content-Length"]) == len(response.data)
    assert parse_http_date(h["Last-Modified"]) <= parse_http_date(h["Date"])
    assert "Content-Encoding" not in h


def test_gzip_variant_has_its_own_etag(feed: tuple[FlaskClient, dict[str, str]]) -> None:
    client, validators = feed
    response = client.get("/feeds/thoi-su.rss", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"] != validators["etag"]
    identity = client.get("/feeds/thoi-su.rss").data
    assert gzip.decompress(response.data) == identity
    again = client.get(
        "/feeds/thoi-su.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    # The identity ETag does not validate the gzip variant, and the other way round.
    cross = client.get(
        "/feeds/thoi-su.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": validators["etag"]},
    )
    assert cross.status_code == 200


def _cases() -> list[tuple[str, dict[str, str], int]]:
    # {etag} and {lm} are replaced with the feed's validators; {older}/{newer} with nearby dates.
    return [
        ("exact etag", {"If-None-Match": "{etag}"}, 304),
        ("weak etag", {"If-None-Match": "W/{etag}"}, 304),
        ("etag list", {"If-None-Match": '"x", {etag}, "y"'}, 304),
        ("star", {"If-None-Match": "*"}, 304),
        ("other etag", {"If-None-Match": '"nope"'}, 200),
        (
            "other etag beats fresh date",
            {"If-None-Match": '"nope"', "If-Modified-Since": "{lm}"},
            200,
        ),
        ("etag beats old date", {"If-None-Match": "{etag}", "If-Modified-Since": "{older}"}, 304),
        ("ims equal", {"If-Modified-Since": "{lm}"}, 304),
        ("ims newer", {"If-Modified-Since": "{newer}"}, 304),
        ("ims older", {"If-Modified-Since": "{older}"}, 200),
        ("ims invalid", {"If-Modified-Since": "yesterday"}, 200),
        ("ims two dates", {"If-Modified-Since": "{lm}, {lm}"}, 200),
        ("ims rfc850", {"If-Modified-Since": "{lm850}"}, 304),
        ("ims asctime", {"If-Modified-Since": "{lmasc}"}, 304),
        ("range ignored with etag", {"If-None-Match": "{etag}", "Range": "bytes=0-10"}, 304),
        ("range ignored", {"Range": "bytes=0-10"}, 200),
    ]


@pytest.mark.parametrize(("name", "headers", "status"), _cases(), ids=[c[0] for c in _cases()])
def test_conditional_table(
    feed: tuple[FlaskClient, dict[str, str]], name: str, headers: dict[str, str], status: int
) -> None:
    client, v = feed
    lm = parse_http_date(v["lm"])
    assert lm is not None
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(lm, UTC)
    values = {
        "etag": v["etag"],
        "lm": v["lm"],
        "older": format_http_date(lm - 1),
        "newer": format_http_date(lm + 1),
        "lm850": moment.strftime("%A, %d-%b-%y %H:%M:%S GMT"),
        "lmasc": moment.strftime("%a %b ") + f"{moment.day:>2}" + moment.strftime(" %H:%M:%S %Y"),
    }
    sent = {k: val.format(**values) for k, val in headers.items()}
    response = client.get("/feeds/thoi-su.rss", headers=sent)
    assert response.status_code == status, name
    if status == 304:
        assert response.data == b""
        for header in ("Date", "ETag", "Vary", "Cache-Control", "Last-Modified"):
            assert header in response.headers, header
        assert response.headers["ETag"] == v["etag"]
    else:
        assert len(response.data) == int(response.headers["Content-Length"]) > 0
        assert "Content-Range" not in response.headers


def test_head_gives_get_headers_without_body(feed: tuple[FlaskClient, dict[str, str]]) -> None:
    client, v = feed
    get = client.get("/feeds/thoi-su.rss")
    head = client.head("/feeds/thoi-su.rss")
    assert head.status_code == 200
    assert head.data == b""
    for header in ("ETag", "Last-Modified", "Content-Type", "Content-Length", "Cache-Control"):
        assert head.headers[header] == get.headers[header]
    assert (
        client.head("/feeds/thoi-su.rss", headers={"If-None-Match": v["etag"]}).status_code == 304
    )


def test_query_strings_are_ignored(feed: tuple[FlaskClient, dict[str, str]]) -> None:
    client, v = feed
    response = client.get("/feeds/thoi-su.rss?utm_source=zalo&x=1")
    assert response.status_code == 200
    assert response.headers["ETag"] == v["etag"]


@pytest.mark.parametrize(
    "path",
    ["/feeds/khong-co.rss", "/feeds/thoi-su.xml", "/feeds/thoi-su", "/feeds/", "/feeds/a/b.rss"],
)
def test_unknown_feed_is_404(newsroom: Flask, path: str) -> None:
    response = newsroom.test_client().get(path)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(newsroom: Flask, method: str) -> None:
    response = newsroom.test_client().open("/feeds/thoi-su.rss", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Cache-Control"] == "no-store"


def test_json_feed_parses(newsroom: Flask) -> None:
    data = json.loads(newsroom.test_client().get("/feeds/all.json").data)
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"].rsplit("/", 1)[1] for i in data["items"]] == ["a3", "a2", "a1"]


def test_workers_share_snapshots_through_the_database(newsroom: Flask) -> None:
    """A second app on the same database (another worker) serves identical bytes and ETags."""
    other = another_worker(newsroom)
    try:
        services(other).registry.refresh(services(other).db)
        for fmt in FORMATS:
            mine = newsroom.test_client().get(f"/feeds/thoi-su.{fmt}")
            theirs = other.test_client().get(f"/feeds/thoi-su.{fmt}")
            assert theirs.data == mine.data
            assert theirs.headers["ETag"] == mine.headers["ETag"]
            assert theirs.headers["Last-Modified"] == mine.headers["Last-Modified"]
    finally:
        services(other).shutdown()


def test_a_new_worker_serves_stored_snapshots_on_its_first_request(newsroom: Flask) -> None:
    """A worker started after regeneration loads the stored snapshots before answering."""
    worker = another_worker(newsroom)
    try:
        response = worker.test_client().get("/feeds/thoi-su.atom")
        assert response.status_code == 200
        assert response.data == newsroom.test_client().get("/feeds/thoi-su.atom").data
    finally:
        services(worker).shutdown()


def test_a_worker_that_never_loaded_answers_503_not_404() -> None:
    """A worker whose database is unreachable from the start has nothing to serve yet."""
    from feedsvc import create_app

    app = create_app(
        {
            "FEEDSVC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "FEEDSVC_SCHEDULER": "off",
        }
    )
    try:
        response = app.test_client().get("/feeds/thoi-su.rss")
        assert response.status_code == 503
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Retry-After"] == "5"
    finally:
        services(app).shutdown()


# --- WebSub links: one field (issue 14, problem 6) ---------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_WEBSUB_HUB": "self"}], ids=["hub"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_one_link_field_carries_hub_and_self(newsroom: Flask, fmt: str) -> None:
    client = newsroom.test_client()
    path = f"/feeds/thoi-su.{fmt}"
    first = client.get(path)
    responses = {
        "200": first,
        "HEAD": client.head(path),
        "gzip": client.get(path, headers={"Accept-Encoding": "gzip"}),
        "limit": client.get(f"{path}?limit=1"),
        "304": client.get(path, headers={"If-None-Match": first.headers["ETag"]}),
    }
    assert responses["304"].status_code == 304
    expected = {"hub": "http://feeds.test/websub", "self": f"http://feeds.test{path}"}
    for case, response in responses.items():
        (field,) = response.headers.getlist("Link")  # exactly one field
        links = parse_header_links(field)
        assert len(links) == 2 and {link["rel"]: link["url"] for link in links} == expected, case
        # A client that keeps headers in a dictionary (the last field wins) keeps both.
        kept = dict(response.headers.items())["Link"]
        assert {link["rel"] for link in parse_header_links(kept)} == {"hub", "self"}, case
    assert client.get("/feeds/thoi-su.html").headers.getlist("Link") == []


def test_no_hub_no_link(newsroom: Flask) -> None:
    for fmt in FORMATS:
        assert newsroom.test_client().get(f"/feeds/thoi-su.{fmt}").headers.getlist("Link") == []


# --- a known feed before its first snapshot (issue 14, problem 8) -------------------------------

PAGE_FORMATS = [*sorted(FORMATS), "html"]
AUTH = {"Authorization": "Bearer test-token-1"}


def _not_rendered_yet(response: Any) -> None:
    """The answer for a feed that exists without a snapshot: 503 to retry, never a 404."""
    assert response.status_code == 503, response.status_code
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("fmt", PAGE_FORMATS)
def test_a_known_feed_is_503_until_its_first_snapshot(app: Flask, fmt: str) -> None:
    """What make run answers between start and the end of the first regeneration."""
    load(app, NEWSROOM, [article("a1", "thoi-su")])
    client = app.test_client()
    for key in ("thoi-su", "kinh-te", "all"):
        _not_rendered_yet(client.get(f"/feeds/{key}.{fmt}"))
        _not_rendered_yet(client.get(f"/feeds/{key}.{fmt}?limit=1"))
        _not_rendered_yet(client.head(f"/feeds/{key}.{fmt}"))
    assert client.get(f"/feeds/khong-co.{fmt}").status_code == 404
    assert client.get("/feeds/thoi-su.xml").status_code == 404
    assert services(app).regenerator.run().ok
    assert client.get(f"/feeds/thoi-su.{fmt}").status_code == 200
    assert client.get(f"/feeds/kinh-te.{fmt}").status_code == 200  # empty, and there


def test_a_category_created_through_the_api_is_503_until_rendered(newsroom: Flask) -> None:
    client = newsroom.test_client()
    assert client.get("/").status_code == 200  # this worker has started its watcher...
    services(newsroom).watcher.stop()  # ...stopped here, so that only the API can tell it
    other = another_worker(newsroom)  # a second worker on the same database
    try:
        assert other.test_client().get("/feeds/bien-gioi.rss").status_code == 404
        created = client.put(
            "/api/v1/categories/bien-gioi", json={"name": "Biên giới"}, headers=AUTH
        )
        assert created.status_code == 201
        for fmt in PAGE_FORMATS:  # the worker that took the request: at once
            _not_rendered_yet(client.get(f"/feeds/bien-gioi.{fmt}"))
        # Another worker: from its watcher's next poll, before any regeneration.
        services(other).registry.poll(services(other).db)
        for fmt in PAGE_FORMATS:
            _not_rendered_yet(other.test_client().get(f"/feeds/bien-gioi.{fmt}"))
        assert other.test_client().get("/feeds/bien-gioi-2.rss").status_code == 404
        assert "bien-gioi" in services(newsroom).regenerator.run().rendered
        services(other).registry.poll(services(other).db)
        for worker in (client, other.test_client()):
            assert worker.get("/feeds/bien-gioi.atom").status_code == 200
    finally:
        services(other).shutdown()


def test_the_registry_learns_feeds_only_when_something_was_written(newsroom: Flask) -> None:
    """The watcher reads one more counter per poll; the category list only after a write."""
    s = services(newsroom)
    registry = SnapshotRegistry()
    queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        queries.append(statement)

    event.listen(s.db.engine, "before_cursor_execute", count)
    try:
        registry.poll(s.db)
        assert "/feeds/kinh-te.json" in registry.known_paths
        assert "/feeds/all.html" in registry.known_paths
        queries.clear()
        registry.poll(s.db)
        assert not [q for q in queries if "categories" in q]
        load(newsroom, [category("bien-gioi", "Biên giới")], [])
        registry.poll(s.db)
        assert "/feeds/bien-gioi.rss" in registry.known_paths
    finally:
        event.remove(s.db.engine, "before_cursor_execute", count)


# --- the hot path's start ----------------------------------------------------------------------


def _hot_path(calls: list[int]) -> FeedHotPath:
    def fallback(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"flask"]

    registry = SnapshotRegistry()
    registry.seen_counter = 0  # loaded, and empty: unknown feeds are 404
    return FeedHotPath(fallback, registry, max_items=50, before_request=lambda: calls.append(1))


def _get(hot: FeedHotPath, path: str) -> str:
    status: list[str] = []
    hot({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, lambda s, h, e=None: status.append(s))
    return status[0]


def test_before_request_runs_once_per_process() -> None:
    calls: list[int] = []
    hot = _hot_path(calls)
    assert [_get(hot, p) for p in ("/feeds/x.rss", "/", "/feeds/x.rss")] == [
        "404 Not Found",
        "200 OK",
        "404 Not Found",
    ]
    assert calls == [1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a forked worker must start its background threads again
        _get(hot, "/feeds/x.rss")
        os.write(write, str(len(calls)).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 16) == b"2" and status == 0
    os.close(read)
    assert calls == [1]
