"""The built-in WebSub hub's whole flow over real sockets on 127.0.0.1: a live feedsvc (werkzeug
server in a thread, the scheduler and the hub worker running) and subscriber callback servers."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from feedsvc import create_app
from feedsvc.store.models import WebSubSubscription
from feedsvc.websub import store as hub_store

from tests.helpers.app import category, load, services
from tests.helpers.servers import QuietHandler

TOKEN = "hub-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WAIT = 10.0  # the bound on every wait for something the hub does


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Subscriber:
    """A subscriber's callback server: records verification GETs and content POSTs."""

    name: str
    echo: str = "challenge"  # challenge | wrong | 404
    statuses: list[int] = field(default_factory=list)  # POST answers in turn, then 204
    hang: threading.Event | None = None  # POSTs block until it is set
    gets: list[dict[str, str]] = field(default_factory=list)
    posts: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def callback(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/cb/{self.name}?id={self.name}"

    def wait(self, check: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Wait until ``check()`` holds (True) or the timeout passes (False)."""
        with self.changed:
            return self.changed.wait_for(check, timeout)

    def record(self, kind: str, value: Any) -> None:
        with self.changed:
            getattr(self, kind).append(value)
            self.changed.notify_all()


def _handler(sub: Subscriber) -> type[QuietHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            sub.record("gets", query)
            answer = {"challenge": query.get("hub.challenge", ""), "wrong": "nope"}
            self.reply(404 if sub.echo == "404" else 200, answer.get(sub.echo, "").encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if sub.hang is not None:
                sub.hang.wait(30)
            sub.record("posts", Delivery(dict(self.headers), body, time.monotonic()))
            self.reply(sub.statuses.pop(0) if sub.statuses else 204)

    return Handler


@dataclass
class Live:
    """A running feedsvc with the built-in hub, and helpers to drive it over HTTP."""

    app: Flask
    base: str

    def topic(self, slug: str = "thoi-su", fmt: str = "json") -> str:
        return f"{self.base}/feeds/{slug}.{fmt}"

    def hub(self, mode: str, topic: str, sub: Subscriber, **extra: str) -> requests.Response:
        data = {"hub.mode": mode, "hub.topic": topic, "hub.callback": sub.callback}
        data.update({f"hub.{k}": v for k, v in extra.items()})
        return requests.post(f"{self.base}/websub", data=data, timeout=5)

    def subscription(self, topic: str, sub: Subscriber) -> WebSubSubscription | None:
        with services(self.app).db.reading() as session:
            return hub_store.get_subscription(session, topic, sub.callback)

    def until(self, check: Callable[[], bool], timeout: float = WAIT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.02)
        return False

    def subscribe(self, sub: Subscriber, topic: str | None = None, **extra: str) -> None:
        """Subscribe and wait until the hub has verified and activated the subscription."""
        topic = topic or self.topic()
        before = len(sub.gets)
        assert self.hub("subscribe", topic, sub, **extra).status_code == 202
        assert sub.wait(lambda: len(sub.gets) > before), "no verification request came"

        def renewed() -> bool:
            row = self.subscription(topic, sub)
            return row is not None and row.expires_at is not None and row.pending_id is None

        assert self.until(renewed), "the subscription was not activated"

    def publish(self, article_id: str, slug: str = "thoi-su") -> float:
        """PUT an article through the API; the seconds the call took."""
        record: dict[str, Any] = {
            "url": f"https://bienphong.example/{article_id}.html",
            "title": f"Tin {article_id}",
            "categories": [slug],
            "published_at": "2026-01-02T08:00:00+07:00",
            "image": {"url": f"https://bienphong.example/{article_id}.jpg", "caption": "Ảnh"},
        }
        started = time.monotonic()
        response = requests.put(
            f"{self.base}/api/v1/articles/{article_id}", json=record, headers=AUTH, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        return time.monotonic() - started

    def feed_has(self, article_id: str, slug: str = "thoi-su") -> bool:
        body = requests.get(self.topic(slug), timeout=5).json()
        return any(item["url"].endswith(f"/{article_id}.html") for item in body["items"])


HUB_SETTINGS = {
    "FEEDSVC_WEBSUB_HUB": "self",
    "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",
    "FEEDSVC_WEBSUB_MAX_ATTEMPTS": "3",
    "FEEDSVC_WEBSUB_BACKOFF_SECONDS": "0.3",
    "FEEDSVC_WEBSUB_TIMEOUT_SECONDS": "2",
}


@pytest.fixture
def hub_factory(database_url: str) -> Iterator[Callable[..., Live]]:
    """Start a live feedsvc with the hub (settings overridable) on a free loopback port."""
    running: list[tuple[Flask, BaseWSGIServer]] = []

    def start(**overrides: str) -> Live:
        server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{server.server_port}"
        config = {
            "FEEDSVC_DATABASE_URL": database_url,
            "FEEDSVC_BASE_URL": base,
            "FEEDSVC_BIND": f"127.0.0.1:{server.server_port}",
            "FEEDSVC_API_TOKENS": TOKEN,
            "FEEDSVC_SCHEDULER": "on",
            **HUB_SETTINGS,
            **overrides,
        }
        app = create_app(config)
        # The categories exist before the scheduler starts, so its first sweep renders them.
        load(app, [category("thoi-su", "Thời sự"), category("kinh-te", "Kinh tế")], [])
        server.app = app
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append((app, server))
        services(app).start_background()
        live = Live(app, base)
        assert live.until(lambda: requests.get(live.topic("kinh-te"), timeout=5).ok)
        return live

    yield start
    for app, server in running:
        services(app).shutdown()
        server.shutdown()
        server.server_close()


@pytest.fixture
def subscribers() -> Iterator[Callable[..., Subscriber]]:
    """Callback servers on free loopback ports, stopped at the end."""
    made: list[Subscriber] = []

    def make(name: str, **options: Any) -> Subscriber:
        sub = Subscriber(name, **options)
        sub.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(sub))
        sub.server.daemon_threads = True
        threading.Thread(target=sub.server.serve_forever, daemon=True).start()
        made.append(sub)
        return sub

    yield make
    for sub in made:
        if sub.hang is not None:
            sub.hang.set()
        assert sub.server is not None
        sub.server.shutdown()
        sub.server.server_close()


def _links(value: str) -> dict[str, str]:
    """rel -> URL of a Link header value (one field holding both links, WebSub §7)."""
    return {
        rel: url
        for url, rel in (
            (part.split(";")[0].strip(" <>"), part.split('rel="')[1].rstrip('"'))
            for part in value.split(", ")
        )
    }


MEDIA = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_verified_subscriber_receives_the_signed_feed(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber], fmt: str
) -> None:
    live = hub_factory()
    sub = subscribers("reader")
    topic = live.topic("thoi-su", fmt)
    live.subscribe(sub, topic, lease_seconds="600", secret="bí mật")
    check = sub.gets[0]
    assert (check["hub.mode"], check["hub.topic"], check["hub.lease_seconds"]) == (
        "subscribe",
        topic,
        "600",
    )
    assert check["id"] == "reader" and len(check["hub.challenge"]) >= 32  # query kept

    live.publish("ws1")
    assert sub.wait(lambda: len(sub.posts) == 1), "the feed was not delivered"
    post = sub.posts[0]
    assert post.headers["Content-Type"] == MEDIA[fmt]
    assert _links(post.headers["Link"]) == {"hub": f"{live.base}/websub", "self": topic}
    expected = hmac.new("bí mật".encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Hub-Signature"] == f"sha256={expected}"
    assert post.body == requests.get(topic, timeout=5).content  # the full feed (§7)
    if fmt == "json":
        titles = [item["title"] for item in json.loads(post.body)["items"]]
    else:
        parsed = feedparser.parse(post.body)
        assert parsed.bozo == 0
        titles = [entry.title for entry in parsed.entries]
    assert titles == ["Tin ws1"]
    live.publish("other", slug="kinh-te")  # another feed: nothing for this subscriber
    assert live.until(lambda: live.feed_has("other", "kinh-te"))
    assert not sub.wait(lambda: len(sub.posts) > 1, timeout=1)


@pytest.mark.slow
def test_unsubscribe_and_expired_lease_stop_deliveries_renewal_keeps_them(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory()
    control, leaver, short, renewed = (
        subscribers(n) for n in ("control", "leaver", "short", "renewed")
    )
    live.subscribe(control)
    live.subscribe(leaver)
    live.subscribe(short, lease_seconds="2")
    live.subscribe(renewed, lease_seconds="2")
    live.subscribe(renewed, lease_seconds="600")  # re-subscribing renews the lease
    assert renewed.gets[-1]["hub.lease_seconds"] == "600"

    assert live.hub("unsubscribe", live.topic(), leaver).status_code == 202
    assert leaver.wait(lambda: leaver.gets[-1]["hub.mode"] == "unsubscribe")
    assert live.until(lambda: live.subscription(live.topic(), leaver) is None)
    time.sleep(2.2)  # the short leases have run out

    live.publish("after")
    assert control.wait(lambda: len(control.posts) == 1)
    assert renewed.wait(lambda: len(renewed.posts) == 1)
    time.sleep(0.5)
    assert leaver.posts == [] and short.posts == []


@pytest.mark.slow
def test_failed_verification_changes_nothing(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory()
    wrong = subscribers("wrong", echo="wrong")
    assert live.hub("subscribe", live.topic(), wrong).status_code == 202
    assert wrong.wait(lambda: len(wrong.gets) == 1)
    assert live.until(lambda: live.subscription(live.topic(), wrong) is None)

    active = subscribers("active")
    live.subscribe(active, secret="old")
    active.echo = "404"  # a renewal the subscriber did not ask for: §5.1, state unchanged
    assert live.hub("subscribe", live.topic(), active, secret="forged").status_code == 202
    assert active.wait(lambda: len(active.gets) == 2)
    assert live.until(lambda: _settled(live, active))
    live.publish("still")
    assert active.wait(lambda: len(active.posts) == 1)
    post = active.posts[0]
    expected = hmac.new(b"old", post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Hub-Signature"] == f"sha256={expected}"
    assert wrong.posts == []


def _settled(live: Live, sub: Subscriber) -> bool:
    """The subscription exists, active, with no request waiting."""
    row = live.subscription(live.topic(), sub)
    return row is not None and row.pending_id is None and row.expires_at is not None


@pytest.mark.slow
def test_failing_callback_is_retried_with_backoff_then_dropped(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory()  # 3 tries, first retry after 0.3 s, then 0.6 s
    failing = subscribers("failing", statuses=[500] * 6)
    live.subscribe(failing)
    live.publish("r1")
    assert failing.wait(lambda: len(failing.posts) == 3)
    assert not failing.wait(lambda: len(failing.posts) > 3, timeout=1.5)  # dropped
    first, second, third = (p.at for p in failing.posts)
    assert 0.25 <= second - first < 0.9, second - first
    assert 0.55 <= third - second < 1.5, third - second
    row = live.subscription(live.topic(), failing)
    assert row is not None and row.expires_at is not None  # §7: the lease still holds
    with services(live.app).db.reading() as session:
        assert hub_store.get_delivery(session, row.id) is None

    live.publish("r2")  # §7: a new update is tried again, with tries of its own
    assert failing.wait(lambda: len(failing.posts) == 6)
    assert not failing.wait(lambda: len(failing.posts) > 6, timeout=1.5)


@pytest.mark.slow
def test_410_ends_the_subscription(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory()
    gone = subscribers("gone", statuses=[410])
    control = subscribers("control")
    live.subscribe(gone)
    live.subscribe(control)
    live.publish("g1")
    assert gone.wait(lambda: len(gone.posts) == 1)
    assert live.until(lambda: live.subscription(live.topic(), gone) is None)
    live.publish("g2")
    assert control.wait(lambda: len(control.posts) == 2)
    assert len(gone.posts) == 1


@pytest.mark.slow
def test_changes_during_backoff_arrive_as_one_newest_feed(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory(FEEDSVC_WEBSUB_BACKOFF_SECONDS="2")
    sub = subscribers("slow", statuses=[503])
    live.subscribe(sub)
    live.publish("c1")
    assert sub.wait(lambda: len(sub.posts) == 1)  # answered 503: retry in 2 s
    for article_id in ("c2", "c3", "c4"):
        live.publish(article_id)
    assert live.until(lambda: live.feed_has("c4"))
    assert sub.wait(lambda: len(sub.posts) == 2)
    assert not sub.wait(lambda: len(sub.posts) > 2, timeout=1.5)
    titles = [item["title"] for item in json.loads(sub.posts[1].body)["items"]]
    assert titles[:4] == ["Tin c4", "Tin c3", "Tin c2", "Tin c1"]


@pytest.mark.slow
def test_private_callbacks_refused_when_private_delivery_is_off(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory(FEEDSVC_WEBSUB_ALLOW_PRIVATE="off")
    sub = subscribers("inside")
    port = urlsplit(sub.callback).port
    callbacks = [
        sub.callback,
        f"http://localhost:{port}/cb",
        f"http://[::ffff:127.0.0.1]:{port}/cb",
        f"http://2130706433:{port}/cb",  # 127.0.0.1 written as one number
    ]
    for callback in callbacks:
        data = {"hub.mode": "subscribe", "hub.topic": live.topic(), "hub.callback": callback}
        assert requests.post(f"{live.base}/websub", data=data, timeout=5).status_code == 202

    def all_refused() -> bool:
        with services(live.app).db.reading() as session:
            return all(
                hub_store.get_subscription(session, live.topic(), c) is None for c in callbacks
            )

    assert live.until(all_refused)
    assert sub.gets == [] and sub.posts == []


@pytest.mark.slow
def test_the_service_itself_is_never_a_callback(
    hub_factory: Callable[..., Live], caplog: pytest.LogCaptureFixture
) -> None:
    live = hub_factory()  # private delivery on: loopback allowed, but not this service
    callback = f"{live.base}/feeds/all.json"
    data = {"hub.mode": "subscribe", "hub.topic": live.topic(), "hub.callback": callback}
    with caplog.at_level(logging.WARNING, logger="feedsvc.websub"):
        assert requests.post(f"{live.base}/websub", data=data, timeout=5).status_code == 202
        assert live.until(lambda: "is this service itself" in caplog.text)

    def removed() -> bool:
        with services(live.app).db.reading() as session:
            return hub_store.get_subscription(session, live.topic(), callback) is None

    assert live.until(removed)


def _newest_has(sub: Subscriber, title: str) -> bool:
    return bool(sub.posts) and title.encode() in sub.posts[-1].body


@pytest.mark.slow
def test_a_dead_subscriber_slows_neither_publishing_nor_others(
    hub_factory: Callable[..., Live], subscribers: Callable[..., Subscriber]
) -> None:
    live = hub_factory(FEEDSVC_WEBSUB_TIMEOUT_SECONDS="20")
    dead = subscribers("dead", hang=threading.Event())
    healthy = subscribers("healthy")
    live.subscribe(dead)
    live.subscribe(healthy)
    for n in range(5):
        article_id = f"d{n}"
        assert live.publish(article_id) < 1.0  # the API write never waits for the hub
        started = time.monotonic()
        assert live.until(partial(live.feed_has, article_id), timeout=3)
        assert time.monotonic() - started < 3
        assert healthy.wait(partial(_newest_has, healthy, f"Tin {article_id}"), timeout=3)
    assert dead.posts == []  # still hanging on the first delivery
