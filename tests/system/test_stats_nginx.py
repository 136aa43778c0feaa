"""The audience figures and polite polling behind the shipped nginx: its ``feedsvc_json`` access
log (deploy/nginx/feedsvc-stats.conf) read by ``feedsvc stats ingest-log``, and its limit on
full fetches without a validator answering 429 while revalidation goes through."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers.caches import NGINX_MISSING, have_nginx, nginx
from tests.helpers.instances import Instance, database, make_serve, seed, settings_env
from tests.helpers.paths import REPO
from tests.helpers.servers import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_nginx(), reason=NGINX_MISSING),
]

STATS_TOKEN = "stats-system-token"
FEED = "/feeds/thoi-su.rss"
FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 21 subscribers; )"
INOREADER = (
    "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; "
    "9 subscribers; )"
)
NEWSBOAT = "Newsboat/2.30.1 - https://newsboat.org/"
LOOPBACK_ALLOWED = ("    127.0.0.1  1;\n", "    ::1        1;\n")


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[tuple[Instance, dict[str, str]]]:
    """``make serve`` with the origin's recording off (the cache's log is the source)."""
    with database("sqlite", tmp_path) as url:
        env = settings_env(url, FEEDSVC_STATS="off", FEEDSVC_STATS_TOKEN=STATS_TOKEN)
        seed(env)
        with make_serve(env, tmp_path / "serve.log") as instance:
            yield instance, env


@pytest.fixture
def proxy(backend: tuple[Instance, dict[str, str]], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The shipped nginx config in front; the loopback allowance of the polling limit removed,
    so that this test's client (on 127.0.0.1) is limited like any reader."""
    instance, _env = backend
    prefix = tmp_path / "nginx"
    with nginx(instance.base, free_port(), prefix, without_loopback_allowance) as base:
        yield base, prefix / "feedsvc.json.log"


def without_loopback_allowance(stats_conf: str) -> str:
    for line in LOOPBACK_ALLOWED:
        assert line in stats_conf
        stats_conf = stats_conf.replace(line, "")
    return stats_conf


def get(url: str, agent: str, **headers: str) -> requests.Response:
    return requests.get(url, headers={"User-Agent": agent, **headers}, timeout=10)


def log_lines(stats_log: Path, count: int) -> list[dict[str, object]]:
    """The JSON log's lines, once nginx has written at least ``count``."""
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(ln) for ln in stats_log.read_text().splitlines() if ln.strip()]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_the_json_log_ingested_into_the_figures(
    backend: tuple[Instance, dict[str, str]], proxy: tuple[str, Path]
) -> None:
    instance, env = backend
    base, stats_log = proxy
    first = get(base + FEED, FEEDLY)
    assert first.status_code == 200
    assert (
        get(base + FEED, INOREADER, **{"If-None-Match": first.headers["ETag"]}).status_code == 304
    )
    assert get(base + FEED, NEWSBOAT).status_code == 200
    assert get(base + "/feeds/thoi-su.html", "Mozilla/5.0 Firefox/121.0").status_code == 200
    lines = log_lines(stats_log, 4)
    feed_lines = [ln for ln in lines if ln["uri"] == FEED]
    assert [(ln["status"], ln["ua"]) for ln in feed_lines] == [
        (200, FEEDLY), (304, INOREADER), (200, NEWSBOAT)]  # fmt: skip
    assert feed_lines[1]["inm"] == first.headers["ETag"] and feed_lines[0]["inm"] == ""
    assert all(ln["addr"] == "127.0.0.1" and ln["method"] == "GET" for ln in lines)

    done = subprocess.run(
        # ``feedsvc …`` as ``python -m feedsvc …`` from this checkout.
        [sys.executable, "-m", "feedsvc", "stats", "ingest-log", str(stats_log)],
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "3 feed responses counted" in done.stderr, done.stderr
    report = requests.get(
        instance.url("/stats.json"), headers={"Authorization": f"Bearer {STATS_TOKEN}"}, timeout=10
    ).json()
    (feed,) = report["feeds"]
    # Feedly's 21 and Inoreader's 9, plus newsboat: one direct reader.
    assert (feed["feed"], feed["subscribers"], feed["from_aggregators"]) == ("thoi-su", 31, 30)
    families = {row["family"]: row for row in report["families"]}
    assert families["aggregator"]["revalidates"] == "partly"
    assert families["desktop reader"]["revalidates"] == "never"


def test_nginx_limits_full_fetches_without_a_validator(proxy: tuple[str, Path]) -> None:
    base, _log = proxy
    statuses = [get(base + FEED, "impatient/1.0").status_code for _ in range(14)]
    assert statuses[:11] == [200] * 11 and 429 in statuses[11:], statuses
    refused = get(base + FEED, "impatient/1.0")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30" and refused.headers["Cache-Control"] == "no-store"
    assert "If-None-Match" in refused.text
    # Revalidating is never refused, from the same client and for the same feed.
    etag = get(base + FEED, "impatient/1.0", **{"If-None-Match": '"x"'}).headers["ETag"]
    for _ in range(20):
        assert get(base + FEED, "impatient/1.0", **{"If-None-Match": etag}).status_code == 304
    # Another feed is counted apart.
    assert get(base + "/feeds/all.rss", "impatient/1.0").status_code == 200
