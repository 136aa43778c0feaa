"""``make run`` over a real socket: a fresh database gets the demo newsroom and its feeds."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import feedparser
import pytest
import requests

from tests.helpers.servers import make_run, wait_for

pytestmark = pytest.mark.slow


def test_make_run_serves_the_demo_feeds(tmp_path: Path) -> None:
    with make_run(tmp_path, ready=[]) as base:
        # From the moment the port opens: 503 until the first regeneration ends, never 404.
        seen = _statuses_until_served(f"{base}/feeds/thoi-su.rss", timeout=120)
        assert set(seen) <= {503, 200} and seen[-1] == 200, seen
        feed = wait_for(f"{base}/feeds/thoi-su.rss", timeout=120)
        parsed = feedparser.parse(feed.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) > 10
        assert parsed.feed.link == "https://bienphong.example"
        data = json.loads(wait_for(f"{base}/feeds/all.json").content)
        assert data["feed_url"] == f"{base}/feeds/all.json"
        ids = [item["id"] for item in data["items"]]
        assert len(ids) == 50 == len(set(ids))
        again = requests.get(
            f"{base}/feeds/thoi-su.rss", headers={"If-None-Match": feed.headers["ETag"]}, timeout=5
        )
        assert again.status_code == 304
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        index = requests.get(f"{base}/", timeout=5)
        assert index.status_code == 200 and "/feeds/quoc-phong-an-ninh.rss" in index.text
        for path in ("/feeds/all.atom", "/", "/feeds/nope.rss"):
            assert len(_raw_headers(base, path).get_all("Date") or []) == 1, path


def _statuses_until_served(url: str, timeout: float) -> list[int]:
    """Every status ``url`` answers, as fast as it answers, until it answers 200."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(requests.get(url, timeout=2).status_code)
        except requests.ConnectionError:
            time.sleep(0.01)  # not listening yet
            continue
        if seen[-1] == 200:
            return seen
    raise AssertionError(f"{url} never answered 200 within {timeout} s: {seen[-5:]}")


def _raw_headers(base: str, path: str) -> http.client.HTTPMessage:
    """The response headers exactly as sent (requests would fold repeated ones)."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.msg
    finally:
        conn.close()
