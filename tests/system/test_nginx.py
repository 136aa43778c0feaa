"""nginx (the Debian package) in front of ``make serve``, running the committed site config
``deploy/nginx/feedsvc.conf``: cache hits, revalidation answered by our 304, client 304s through
the proxy, one cache entry per encoding, stale feeds and uncacheable errors when we are down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers.caches import NGINX_MISSING, have_nginx, nginx
from tests.helpers.instances import (
    TOKEN,
    Fetched,
    Instance,
    database,
    fetch,
    has_article,
    item_ids,
    make_serve,
    news_article,
    put_article,
    seed,
    settings_env,
    wait_until,
)
from tests.helpers.metrics import parse, value
from tests.helpers.servers import free_port, stop

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_nginx(), reason=NGINX_MISSING),
]

FEED = "/feeds/thoi-su.rss"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Instance]:
    """``make serve`` with max-age 1 s, so that entries expire within the test."""
    with database("sqlite", tmp_path) as url:
        env = settings_env(url, FEEDSVC_CACHE_MAX_AGE="1")
        seed(env)
        with make_serve(env, tmp_path / "serve.log") as instance:
            yield instance


@pytest.fixture
def proxy(backend: Instance, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """nginx on a free port in front of the backend; yields its base URL and access log."""
    prefix = tmp_path / "nginx"
    with nginx(backend.base, free_port(), prefix) as base:
        yield base, prefix / "access.log"


def origin_304s(backend: Instance) -> float:
    """The 304s the origin sent for FEED (its workers' counts, flushed each second)."""
    assert backend.metrics is not None
    samples = parse(requests.get(backend.metrics + "/metrics", timeout=5).text)
    return value(samples, "feedsvc_feed_requests_total", feed="thoi-su", format="rss",
                 status="304") or 0.0  # fmt: skip


def cache_status(response: requests.Response | Fetched) -> str:
    """What nginx says about its cache for this response."""
    return str(response.headers.get("X-Cache-Status"))


def test_cache_hit_revalidation_and_client_304(backend: Instance, proxy: tuple[str, Path]) -> None:
    base, _ = proxy
    direct = fetch(backend.url(FEED))
    direct_gz = fetch(backend.url(FEED), gzip=True)

    first = fetch(base + FEED)
    second = fetch(base + FEED)
    assert (first.status, cache_status(first)) == (200, "MISS")
    assert (second.status, cache_status(second)) == (200, "HIT")
    for response in (first, second):
        assert response.body == direct.body and response.etag == direct.etag
        assert response.headers["Cache-Control"] == "public, max-age=1, stale-if-error=86400"
        # The surrogate keys are for caches: the shipped site strips them.
        assert not {"Surrogate-Key", "xkey", "Cache-Tag"} & set(response.headers)
        assert response.headers["Vary"] == "Accept-Encoding"
        assert response.headers["Last-Modified"] == direct.headers["Last-Modified"]
        assert "Content-Encoding" not in response.headers
    assert item_ids(FEED, second.body) == item_ids(FEED, direct.body)

    # Conditional requests from a client: nginx answers 304 from its cache with our validators.
    for condition in (
        {"If-None-Match": direct.etag or ""},
        {"If-Modified-Since": direct.headers["Last-Modified"]},
    ):
        not_modified = fetch(base + FEED, headers=condition)
        assert not_modified.status == 304, condition
        assert not_modified.body == b""
        assert not_modified.etag == direct.etag

    # After max-age, nginx serves its copy (STALE) while one background request revalidates
    # it with our validators; we answer 304; the copy is fresh again (HIT).
    time.sleep(2.2)
    before = origin_304s(backend)
    revalidated = fetch(base + FEED)
    assert (revalidated.status, cache_status(revalidated)) == (200, "STALE")
    assert revalidated.body == direct.body and revalidated.etag == direct.etag
    wait_until(
        lambda: cache_status(fetch(base + FEED)) == "HIT" or None, 5, "the background update"
    )
    time.sleep(1.2)  # the workers flush their counts each second
    assert origin_304s(backend) > before, "the background revalidation got no 304"
    assert fetch(base + FEED, headers={"If-None-Match": direct.etag or ""}).status == 304

    # gzip passes through untouched: our bytes and our ETag, in an entry of its own.
    for accept in ("gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5"):
        zipped = fetch(base + FEED, headers={"Accept-Encoding": accept})
        assert zipped.status == 200, accept
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert (zipped.body, zipped.etag) == (direct_gz.body, direct_gz.etag), accept
    assert cache_status(fetch(base + FEED, gzip=True)) == "HIT"
    for refusal in ("gzip;q=0", "identity", "deflate, gzip; q=0.0"):
        plain = fetch(base + FEED, headers={"Accept-Encoding": refusal})
        assert "Content-Encoding" not in plain.headers, refusal
        assert (plain.body, plain.etag) == (direct.body, direct.etag), refusal
    head = requests.head(base + FEED, headers={"Accept-Encoding": "identity"}, timeout=5)
    assert (head.status_code, head.content, head.headers["ETag"]) == (200, b"", direct.etag)


def test_changes_pass_through_and_errors_are_never_cached(
    backend: Instance, proxy: tuple[str, Path]
) -> None:
    base, _ = proxy
    old = fetch(base + FEED)
    assert fetch(base + FEED).status == 200
    # A write through the proxy: credentials bypass the cache, and the API says no-store.
    written = put_article(base, news_article("via-nginx", 1))
    assert written.status_code == 201, written.text
    assert written.headers["Cache-Control"] == "no-store"
    read_back = requests.get(
        f"{base}/api/v1/articles/via-nginx", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert (read_back.status_code, cache_status(read_back)) == (200, "BYPASS")
    wait_until(lambda: has_article(backend.base, "via-nginx", FEED), 10, "the article upstream")
    # Within about max-age (1 s) plus one second, the proxy serves the new feed too.
    changed_since = {"If-None-Match": old.etag or ""}
    fresh = wait_until(
        lambda: r if (r := fetch(base + FEED, headers=changed_since)).status == 200 else None,
        5,
        "the new feed through nginx",
    )
    assert fresh.etag != old.etag
    assert any(i.endswith(":article/via-nginx") for i in item_ids(FEED, fresh.body))

    health = requests.get(f"{base}/healthz", timeout=5)
    assert health.headers["Cache-Control"] == "no-store"
    assert cache_status(health) in ("MISS", "EXPIRED")
    assert requests.get(f"{base}/metrics", timeout=5).status_code == 404

    # feedsvc gone: readers still get the cached feed; what cannot be served is a 503 that no
    # cache keeps, with a hint when to retry.
    stop(backend.proc)
    time.sleep(2.2)  # past max-age: without feedsvc, nginx cannot revalidate
    stale = fetch(base + FEED)
    assert (stale.status, cache_status(stale)) == (200, "STALE")
    assert stale.body == fresh.body
    down = requests.get(f"{base}/api/v1/articles/via-nginx", timeout=10,
                        headers={"Authorization": "Bearer x"})  # fmt: skip
    assert down.status_code == 503
    assert down.headers["Cache-Control"] == "no-store"
    assert down.headers["Retry-After"] == "5"
