"""The shipped caches — nginx (deploy/nginx/feedsvc.conf, entries refreshed in place) and Varnish
(deploy/varnish/feedsvc.vcl, xkey) — in front of ``make serve`` purging them on publish
(FEEDSVC_PURGE_NGINX / FEEDSVC_PURGE_VARNISH), as deploy/README.md wires them: behaviour, not
timing. A publish through the API reaches pollers of the cache, every variant of the feed
included; 50 pollers together cost the origin one fetch per encoding; a subscriber fetching
through the cache on each WebSub delivery gets the delivered version; with feedsvc stopped, the
cache still serves the last feed."""

from __future__ import annotations

import gzip
import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import caches
from tests.helpers.instances import (
    BASE_URL,
    Fetched,
    Instance,
    database,
    fetch,
    item_ids,
    make_serve,
    news_article,
    put_article,
    seed,
    settings_env,
    wait_until,
)
from tests.helpers.metrics import parse
from tests.helpers.servers import QuietHandler, free_port, stop

pytestmark = [pytest.mark.slow]

FEED = "/feeds/thoi-su.rss"
POLLERS = 50
WAIT = 15.0  # the bound on every wait for something the service or the cache does


def _kinds() -> list[Any]:
    nginx = pytest.mark.skipif(not caches.have_nginx(), reason=caches.NGINX_MISSING)
    varnish = pytest.mark.skipif(not caches.have_varnish(), reason=caches.VARNISH_MISSING)
    return [pytest.param("nginx", marks=nginx), pytest.param("varnish", marks=varnish)]


@dataclass
class Deployment:
    """make serve (the built-in hub on) behind one of the shipped caches."""

    kind: str
    origin: Instance
    cache: str  # the cache's base URL

    def origin_fetches(self, feed: str = "thoi-su", fmt: str = "rss") -> int:
        """Responses the origin's workers gave for one feed and format (every status)."""
        assert self.origin.metrics is not None
        samples = parse(requests.get(self.origin.metrics + "/metrics", timeout=5).text)
        return int(
            sum(
                value
                for (name, labels), value in samples.items()
                if name == "feedsvc_feed_requests_total"
                and ("feed", feed) in labels
                and ("format", fmt) in labels
            )
        )


@pytest.fixture(params=_kinds())
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    kind: str = request.param
    port = free_port()
    with database("sqlite", tmp_path) as url:
        env = settings_env(
            url,
            FEEDSVC_WEBSUB_HUB="self",
            FEEDSVC_WEBSUB_ALLOW_PRIVATE="on",
            **{f"FEEDSVC_PURGE_{kind.upper()}": f"http://127.0.0.1:{port}"},
        )
        seed(env)
        with make_serve(env, tmp_path / "serve.log") as origin:
            cache: AbstractContextManager[str] = (
                caches.nginx(origin.base, port, tmp_path / "nginx")
                if kind == "nginx"
                else caches.varnish(origin.base, port, tmp_path / "varnish")
            )
            with cache as base:
                yield Deployment(kind, origin, base)


def cached(deployment: Deployment, path: str, gzipped: bool = False) -> Fetched:
    """Fetch ``path`` through the cache until the cache answers it itself (a hit)."""

    def hit() -> Fetched | None:
        response = fetch(deployment.cache + path, gzip=gzipped)
        status = response.headers.get("X-Cache-Status") or response.headers.get("X-Cache")
        return response if response.status == 200 and status == "HIT" else None

    return wait_until(hit, WAIT, f"{path} cached by {deployment.kind}")


def shows(path: str, article_id: str, body: bytes, gzipped: bool = False) -> bool:
    """Whether the feed at ``path`` (a query allowed) lists ``article_id``."""
    if gzipped:
        body = gzip.decompress(body)
    ids = item_ids(path.split("?")[0], body)
    return any(i.endswith(f":article/{article_id}") for i in ids)


def test_a_publish_reaches_every_poller_and_variant_with_one_fetch_per_encoding(
    deployment: Deployment,
) -> None:
    variants = [
        (FEED, False),
        (FEED, True),
        (FEED + "?limit=2", False),
        (FEED + "?limit=2", True),
        (FEED + "?utm_source=x&limit=3", True),  # another parameter: the limit=3 entry
        (FEED + "?utm_source=newsletter", False),  # shares the plain feed's entry
        ("/feeds/thoi-su.atom", True),
        ("/feeds/all.json", False),
        ("/feeds/thoi-su.html", True),
    ]
    for path, gz in variants:
        # The shipped nginx stores no "?limit" feed (feedsvc answers those); Varnish does.
        stored = deployment.kind == "varnish" or "limit=" not in path
        old = cached(deployment, path, gz) if stored else fetch(deployment.cache + path, gz)
        assert old.status == 200, path
        assert not {"Surrogate-Key", "xkey", "Cache-Tag"} & set(old.headers), path
        assert old.headers["Cache-Control"].startswith("public, max-age=60")
    time.sleep(2.2)  # the workers flush their counts each second
    before = deployment.origin_fetches()

    # 50 readers polling the cache, half with gzip, while the newsroom publishes through it.
    seen: list[float] = []
    lock = threading.Lock()
    start = threading.Event()

    def poll(gz: bool) -> None:
        start.wait()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            response = fetch(deployment.cache + FEED, gzip=gz)
            if response.status == 200 and shows(FEED, "fresh", response.body, gz):
                with lock:
                    seen.append(time.monotonic())
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=poll, args=(i % 2 == 0,)) for i in range(POLLERS)]
    for thread in threads:
        thread.start()
    start.set()
    written = put_article(deployment.cache, news_article("fresh", 0.5))
    assert written.status_code == 201, written.text
    for thread in threads:
        thread.join(WAIT + 5)
    assert len(seen) == POLLERS, f"{POLLERS - len(seen)} pollers never saw the new item"

    # The origin gave the RSS feed at most 2 responses per encoding for that publish: the
    # cache's refresh (nginx) or one collapsed miss (Varnish), never one per poller.
    time.sleep(2.2)  # the workers flush their counts each second
    fetched = deployment.origin_fetches() - before
    assert fetched <= 2 * 2, fetched

    # Every variant a reader had cached shows it too: the purge reached them all.
    for path, gz in variants:
        response = fetch(deployment.cache + path, gzip=gz)
        assert response.status == 200, path
        body = gzip.decompress(response.body) if gz else response.body
        if path.endswith(".html"):
            assert b'id="tin-fresh"' in body, path
        else:
            assert shows(path, "fresh", response.body, gz), path


@dataclass
class Refetcher:
    """A WebSub subscriber that, on each delivery, fetches the feed through the cache with the
    ETag it had (as many readers do) and records what it got against what was delivered."""

    feed_url: str
    etag: str | None = None
    results: list[tuple[list[str], list[str], int]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> http.server.ThreadingHTTPServer:
        sub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # verification of intent: echo the challenge
                challenge = self.path.split("hub.challenge=", 1)[-1].split("&", 1)[0]
                self.reply(200, challenge.encode())

            def do_POST(self) -> None:
                delivered = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.reply(204)
                sub.refetch(delivered)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def refetch(self, delivered: bytes) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = fetch(self.feed_url, headers=headers)
        got = item_ids(FEED, response.body) if response.status == 200 else []
        if response.status == 200:
            self.etag = response.etag
        with self.changed:
            self.results.append((item_ids(FEED, delivered), got, response.status))
            self.changed.notify_all()

    def wait(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.results) >= count, WAIT)


def test_a_subscriber_refetching_on_delivery_gets_it_and_the_cache_outlives_the_origin(
    deployment: Deployment,
) -> None:
    first = cached(deployment, FEED)
    sub = Refetcher(deployment.cache + FEED, etag=first.etag)
    server = sub.start()
    try:
        topic = f"{BASE_URL}{FEED}"
        callback = f"http://127.0.0.1:{server.server_port}/cb"
        asked = requests.post(
            f"{deployment.origin.base}/websub",
            data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback},
            timeout=5,
        )
        assert asked.status_code == 202, asked.text
        time.sleep(1.0)  # verification of intent (one GET) before the first publish
        for n in range(3):
            record = news_article(f"delivered-{n}", 0.2)
            assert put_article(deployment.origin.base, record).status_code == 201
            assert sub.wait(n + 1), f"delivery {n} never came"
            delivered, got, status = sub.results[n]
            assert any(i.endswith(f":article/delivered-{n}") for i in delivered)
            # Through the cache, right on delivery: the delivered version, not a 304.
            assert status == 200, (n, status)
            assert got == delivered, n
    finally:
        server.shutdown()
        server.server_close()

    # What feedsvc says no-store about is never answered from the cache.
    for _ in range(2):
        health = requests.get(deployment.cache + "/healthz", timeout=10)
        assert health.headers["Cache-Control"] == "no-store"
        assert (health.headers.get("X-Cache-Status") or health.headers.get("X-Cache")) != "HIT"

    # feedsvc gone: the cache keeps serving the last feed (nginx: use-stale; Varnish: grace
    # from stale-if-error), and errors nobody may keep for what it never had.
    last = cached(deployment, FEED)
    stop(deployment.origin.proc)
    for _ in range(3):
        response = fetch(deployment.cache + FEED)
        assert response.status == 200 and response.body == last.body
    missing = requests.get(deployment.cache + "/feeds/kinh-te.json?limit=1", timeout=10)
    assert missing.status_code in (502, 503, 504)
    assert missing.headers["Cache-Control"] == "no-store"


def test_only_this_machine_may_refresh_or_purge(deployment: Deployment) -> None:
    """The refresh (nginx) and the PURGE (Varnish) are taken from 127.0.0.1 and ::1 only: from
    127.0.0.2 (another address, as any other host's) they change nothing."""
    first = cached(deployment, FEED)
    if deployment.kind == "nginx":
        method, headers = "HEAD", {"X-Feedsvc-Refresh": "1", "Accept-Encoding": "identity"}
    else:
        method, headers = "PURGE", {"xkey-purge": "feed.thoi-su feedsvc"}
    port = int(deployment.cache.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0)
    )
    try:
        conn.request(method, FEED, headers=headers)
        answer = conn.getresponse()
        answer.read()
    finally:
        conn.close()
    if deployment.kind == "nginx":
        assert answer.getheader("X-Cache-Status") == "HIT"  # answered from the cache
    else:
        assert answer.status == 403
    again = fetch(deployment.cache + FEED)
    assert (again.headers.get("X-Cache-Status") or again.headers.get("X-Cache")) == "HIT"
    assert again.etag == first.etag
