"""The purge adapters against local servers that check the documented request shapes: Fastly's
batch purge by surrogate key, Cloudflare's purge_cache by tag, Varnish's xkey PURGE and the
shipped nginx site's refresh; their documented error answers, and a timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing

import pytest

from feedsvc.config import load_settings
from feedsvc.publish.purge import (
    CloudflarePurge,
    FastlyPurge,
    NginxPurge,
    PurgeError,
    VarnishPurge,
    build_targets,
)

from tests.helpers.cdn import FakeAPI, Reply

SERVICE = "SU1Z0isxPaozGVKXdv0eY"
ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "tok-3b1f.secret"
KEYS = ["feed.thoi-su", "feed.all", "page.index", "page.opml"]


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    fake = FakeAPI().start()
    yield fake
    fake.close()


def fastly_ok(keys: list[str]) -> Reply:
    return Reply(
        200, json.dumps({k: f"108-1391560174-974124-{i}" for i, k in enumerate(keys)}).encode()
    )


def test_fastly_sends_the_batch_purge(api: FakeAPI) -> None:
    api.script = [fastly_ok(KEYS)]
    with closing(FastlyPurge(SERVICE, TOKEN, 2, api=api.url)) as target:
        target.purge(["thoi-su", "all"])
    (sent,) = api.received
    assert (sent.method, sent.path) == ("POST", f"/service/{SERVICE}/purge")
    assert sent.headers["fastly-key"] == TOKEN
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["accept"] == "application/json"
    assert "fastly-soft-purge" not in sent.headers
    assert json.loads(sent.body) == {"surrogate_keys": KEYS}


def test_fastly_soft_purge_and_batches_of_256(api: FakeAPI) -> None:
    feeds = [f"c{i}" for i in range(300)]
    keys = [f"feed.{f}" for f in feeds] + ["page.index", "page.opml"]
    api.script = [fastly_ok(keys[:256]), fastly_ok(keys[256:])]
    with closing(FastlyPurge(SERVICE, TOKEN, 2, soft=True, api=api.url)) as target:
        target.purge(feeds)
    assert [json.loads(r.body)["surrogate_keys"] for r in api.received] == [keys[:256], keys[256:]]
    assert all(r.headers["fastly-soft-purge"] == "1" for r in api.received)


@pytest.mark.parametrize(
    ("reply", "retry", "said"),
    [
        # Fastly's documented error body: {"msg": ..., "detail": ...}
        (Reply(401, b'{"msg":"Provided credentials are missing or invalid"}'), False, "401"),
        (Reply(429, b'{"msg":"Too many requests","detail":"rate limited"}'), True, "rate limited"),
        (Reply(503, b"<html>upstream</html>", content_type="text/html"), True, "503"),
        (Reply(200, b'{"feed.thoi-su":"1-2-3"}'), True, "without a purge id"),
    ],
)
def test_fastly_errors(api: FakeAPI, reply: Reply, retry: bool, said: str) -> None:
    api.script = [reply]
    with pytest.raises(PurgeError) as caught:
        with closing(FastlyPurge(SERVICE, TOKEN, 2, api=api.url)) as target:
            target.purge(["thoi-su", "all"])
    assert caught.value.retry is retry
    assert said in str(caught.value) and TOKEN not in str(caught.value)


def cloudflare_ok() -> Reply:
    body = {"success": True, "errors": [], "messages": [], "result": {"id": ZONE}}
    return Reply(200, json.dumps(body).encode())


def test_cloudflare_sends_purge_cache_by_tags(api: FakeAPI) -> None:
    api.script = [cloudflare_ok()]
    with closing(CloudflarePurge(ZONE, TOKEN, 2, api=api.url)) as target:
        target.purge(["thoi-su", "all"])
    (sent,) = api.received
    assert (sent.method, sent.path) == ("POST", f"/client/v4/zones/{ZONE}/purge_cache")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.body) == {"tags": KEYS}


def test_cloudflare_sends_30_tags_a_request(api: FakeAPI) -> None:
    api.default = cloudflare_ok()
    with closing(CloudflarePurge(ZONE, TOKEN, 2, api=api.url)) as target:
        target.purge([f"c{i}" for i in range(40)])
    assert [len(json.loads(r.body)["tags"]) for r in api.received] == [30, 12]


@pytest.mark.parametrize(
    ("reply", "retry", "said"),
    [
        # Cloudflare's envelope: success false, errors [{code, message}]
        (
            Reply(403, b'{"success":false,"errors":[{"code":10000,"message":"Authentication '
                  b'error"}],"messages":[],"result":null}'),
            False,
            "10000 Authentication error",
        ),
        (
            Reply(429, b'{"success":false,"errors":[{"code":971,"message":"Please wait and '
                  b'consider throttling your request speed"}],"messages":[],"result":null}'),
            True,
            "971",
        ),
        (Reply(502, b"bad gateway", content_type="text/plain"), True, "502"),
        (Reply(200, b'{"success":false,"errors":[{"code":1012,"message":"x"}]}'), True, "1012"),
    ],
)  # fmt: skip
def test_cloudflare_errors(api: FakeAPI, reply: Reply, retry: bool, said: str) -> None:
    api.script = [reply]
    with pytest.raises(PurgeError) as caught:
        with closing(CloudflarePurge(ZONE, TOKEN, 2, api=api.url)) as target:
            target.purge(["thoi-su"])
    assert caught.value.retry is retry
    assert said in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize("kind", ["fastly", "cloudflare"])
def test_a_timeout_is_a_failure_worth_retrying(api: FakeAPI, kind: str) -> None:
    api.script = [Reply(200, b"{}", delay=1.0)]
    target = (
        FastlyPurge(SERVICE, TOKEN, 0.2, api=api.url)
        if kind == "fastly"
        else CloudflarePurge(ZONE, TOKEN, 0.2, api=api.url)
    )
    with closing(target), pytest.raises(PurgeError) as caught:
        target.purge(["thoi-su"])
    assert caught.value.retry and "timed out" in str(caught.value)


def test_varnish_purges_the_keys_in_one_request(api: FakeAPI) -> None:
    api.script = [Reply(200, b"Invalidated 8 objects", content_type="text/plain")]
    with closing(VarnishPurge(api.url, 2)) as target:
        target.purge(["thoi-su", "all"])
    (sent,) = api.received
    assert (sent.method, sent.path) == ("PURGE", "/")
    assert sent.headers["xkey-purge"] == " ".join(KEYS)
    api.script = [Reply(403, b"Forbidden", content_type="text/plain")]
    with pytest.raises(PurgeError) as caught:
        with closing(VarnishPurge(api.url, 2)) as target:
            target.purge(["thoi-su"])
    assert not caught.value.retry and "purgers ACL" in str(caught.value)


def test_nginx_refreshes_each_entry_of_the_feeds_and_pages(api: FakeAPI) -> None:
    api.default = Reply(200)
    # The shipped site marks a refresh it took: X-Cache-Status BYPASS (the fake says nothing,
    # which reads as taken).
    with closing(NginxPurge(api.url, 2, "https://rss.example")) as target:
        target.purge(["thoi-su"])
    sent = [(r.method, r.path, r.headers["accept-encoding"]) for r in api.received]
    paths = [f"/feeds/thoi-su.{f}" for f in ("rss", "atom", "json", "html")]
    paths += ["/", "/feeds.opml"]
    assert sent == [("HEAD", p, e) for p in paths for e in ("identity", "gzip")]
    assert all(r.headers["x-feedsvc-refresh"] == "1" for r in api.received)
    assert all(r.headers["host"] == "rss.example" for r in api.received)


def test_nginx_takes_a_404_and_refuses_an_answer_from_its_cache(api: FakeAPI) -> None:
    # A category deleted since: nothing is stored, the other entries are still refreshed.
    api.script = [Reply(404)]
    with closing(NginxPurge(api.url, 2, "https://rss.example")) as target:
        target.purge(["gone"])
    assert len(api.received) == 12
    # A site that answered the refresh from its cache (not the shipped one, or an address it
    # does not trust): an operator must fix it, so no retry.
    api.script = [Reply(200, headers=(("X-Cache-Status", "HIT"),))]
    with pytest.raises(PurgeError) as caught:
        with closing(NginxPurge(api.url, 2, "https://rss.example")) as target:
            target.purge(["thoi-su"])
    assert not caught.value.retry and "from its cache" in str(caught.value)
    api.script = [Reply(500, content_type="text/plain")]
    with pytest.raises(PurgeError) as caught:
        with closing(NginxPurge(api.url, 2, "https://rss.example")) as target:
            target.purge(["thoi-su"])
    assert caught.value.retry and "nginx answered 500" in str(caught.value)


def test_the_settings_pick_the_targets() -> None:
    settings = load_settings(
        {
            "FEEDSVC_PURGE_NGINX": "http://127.0.0.1",
            "FEEDSVC_PURGE_VARNISH": "http://127.0.0.1:6081",
            "FEEDSVC_PURGE_FASTLY_SERVICE": SERVICE,
            "FEEDSVC_PURGE_FASTLY_TOKEN": TOKEN,
            "FEEDSVC_PURGE_CLOUDFLARE_ZONE": ZONE,
            "FEEDSVC_PURGE_CLOUDFLARE_TOKEN": TOKEN,
        }
    )
    assert [t.name for t in build_targets(settings)] == ["nginx", "varnish", "fastly", "cloudflare"]
    assert build_targets(load_settings({})) == []
