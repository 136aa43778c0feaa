"""Issue 13, finding 1: one anonymous client starves the hub.

The attack: send subscribe requests, as many as you like, each naming a callback that accepts
the connection and never answers. Each one became a verification that took a worker slot
before any delivery did, held it for twice the timeout and was tried ten times; forty of them
took a real subscriber's delivery from 0.09 s to 19.8 s.

What stops it, each checked here: requests per client per minute (429 with Retry-After, in a
table of bounded size); requests waiting for verification and subscriptions per callback host
and in all (429); deliveries keep worker slots that verifications never take; at most a few
requests per callback host at once; a callback that never confirmed gets one short try.
The same attack over real sockets against ``make serve`` is tests/system/test_hub_abuse.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from feedsvc import create_app
from feedsvc import store as feed_store
from feedsvc.websub import BuiltInHub
from feedsvc.websub import store as hub_store
from feedsvc.websub.limits import RateLimiter

from tests.helpers.app import article, category, load, services
from tests.helpers.callbacks import LOOPBACK_SPELLINGS, Honest, Silent

BASE = "http://feeds.test"
TOPIC = f"{BASE}/feeds/thoi-su.json"


def subscribe(app: Flask, callback: str, client: str = "198.51.100.7", **extra: str) -> Any:
    data = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback, **extra}
    return app.test_client().post("/websub", data=data, environ_base={"REMOTE_ADDR": client})


def hub_app(database_url: str, **settings: str) -> Flask:
    app = create_app(
        {
            "FEEDSVC_DATABASE_URL": database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": BASE,
            "FEEDSVC_WEBSUB_HUB": "self",
            "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",
            **settings,
        }
    )
    load(app, [category("thoi-su", "Thời sự")], [article("s1", "thoi-su")])
    assert services(app).regenerator.run().ok
    return app


@pytest.fixture
def apps(database_url: str) -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        services(app).shutdown()


# --- what the endpoint takes ----------------------------------------------------------------------


def test_one_client_gets_429_with_retry_after_beyond_its_requests_per_minute(
    database_url: str, apps: list[Flask]
) -> None:
    app = hub_app(database_url, FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE="5")
    apps.append(app)
    answers = [subscribe(app, f"https://sub{n}.example/cb").status_code for n in range(5)]
    assert answers == [202] * 5
    refused = subscribe(app, "https://sub5.example/cb")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1  # 5 a minute: the next one in ~12 s
    assert "FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE" in refused.get_data(as_text=True)
    assert subscribe(app, "https://sub6.example/cb", client="203.0.113.9").status_code == 202
    # One IPv6 subscriber holds a whole /64: it is one client, not 2**64 of them.
    for n in range(5):
        assert (
            subscribe(app, f"https://v6-{n}.example/cb", client=f"2001:db8::{n}").status_code == 202
        )
    assert subscribe(app, "https://v6-9.example/cb", client="2001:db8::ffff").status_code == 429


def test_behind_the_proxy_each_forwarded_client_has_its_own_allowance(
    database_url: str, apps: list[Flask]
) -> None:
    """Behind the shipped nginx every peer is 127.0.0.1: the limit counts X-Forwarded-For's
    client (the peer is a trusted proxy), and a forged header from an untrusted peer is not
    believed."""
    app = hub_app(database_url, FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE="2")
    apps.append(app)

    def through_proxy(callback: str, client: str, peer: str = "127.0.0.1") -> int:
        data = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback}
        environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": client}
        return app.test_client().post("/websub", data=data, environ_base=environ).status_code

    assert [through_proxy(f"https://a{n}.example/cb", "198.51.100.1") for n in range(3)] == [
        202,
        202,
        429,
    ]
    assert through_proxy("https://b.example/cb", "198.51.100.2") == 202
    # An untrusted peer forging the header is counted as itself, whatever it claims.
    forged = [
        through_proxy(f"https://c{n}.example/cb", f"192.0.2.{n}", "203.0.113.5") for n in range(3)
    ]
    assert forged == [202, 202, 429]


def test_the_per_client_table_stays_bounded_under_rotating_addresses() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=2, max_clients=1000, clock=lambda: now[0])
    for n in range(50_000):
        limiter.check(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    assert len(limiter) == 1000
    # A client that keeps coming stays in the table, and stays limited.
    assert limiter.check("192.0.2.1") is None and limiter.check("192.0.2.1") is None
    for n in range(5000):
        limiter.check(f"172.16.{n >> 8 & 255}.{n & 255}")
        if n % 100 == 0:
            assert limiter.check("192.0.2.1") is not None


@pytest.mark.parametrize(
    ("settings", "callbacks", "refused_with"),
    [
        (
            {"FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST": "3"},
            [f"https://slow.example/cb/{n}" for n in range(3)],
            "FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST",
        ),
        (
            {"FEEDSVC_WEBSUB_MAX_PENDING": "4"},
            [f"https://host{n}.example/cb" for n in range(4)],
            "FEEDSVC_WEBSUB_MAX_PENDING",
        ),
    ],
)
def test_requests_waiting_for_verification_are_capped(
    database_url: str,
    apps: list[Flask],
    settings: dict[str, str],
    callbacks: list[str],
    refused_with: str,
) -> None:
    app = hub_app(database_url, **settings)
    apps.append(app)
    for callback in callbacks:
        assert subscribe(app, callback).status_code == 202
    refused = subscribe(app, "https://SLOW.example:8443/cb/more?x=1")
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert refused_with in refused.get_data(as_text=True)
    # A request that replaces one already waiting adds nothing: still taken.
    assert subscribe(app, callbacks[0], **{"hub.lease_seconds": "60"}).status_code == 202


@pytest.mark.parametrize(
    ("settings", "refused_with", "other_host_ok"),
    [
        ({"FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS_PER_HOST": "3"}, "_PER_HOST", True),
        ({"FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS": "3"}, "FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS)", False),
    ],
)
def test_subscriptions_are_capped_per_callback_host_and_in_all(
    database_url: str,
    apps: list[Flask],
    settings: dict[str, str],
    refused_with: str,
    other_host_ok: bool,
) -> None:
    app = hub_app(database_url, **settings)
    apps.append(app)
    callbacks = [f"https://relay.example/cb/{n}" for n in range(3)]
    for callback in callbacks:
        assert subscribe(app, callback).status_code == 202
    _activate_all(app)  # verified: none waits any more, all three count as subscriptions
    refused = subscribe(app, "https://relay.example/cb/3")
    assert refused.status_code == 429 and refused_with in refused.get_data(as_text=True)
    other = subscribe(app, "https://other.example/cb")
    assert (other.status_code == 202) is other_host_ok
    # A subscriber renewing what it has is never refused by these.
    assert subscribe(app, callbacks[1], **{"hub.lease_seconds": "600"}).status_code == 202


def _activate_all(app: Flask) -> None:
    db, now = services(app).db, services(app).clock.now()
    with db.writing() as session:
        for job in hub_store.claim_verifications(session, now, now + timedelta(seconds=30), 100):
            assert hub_store.activate(session, job, now + timedelta(hours=1), 3600, now)


# --- what the worker does with what it took (real sockets on 127.0.0.1) ------------------------


WORKER = {
    "FEEDSVC_WEBSUB_TIMEOUT_SECONDS": "2",  # a never-answering callback: 4 s per try before
    "FEEDSVC_WEBSUB_VERIFY_TIMEOUT_SECONDS": "0.5",
    "FEEDSVC_WEBSUB_MAX_ATTEMPTS": "5",
    "FEEDSVC_WEBSUB_BACKOFF_SECONDS": "0.1",
}


def _pending(app: Flask, callbacks: list[str]) -> None:
    """Requests as the endpoint would store them (the endpoint's limits are tested above)."""
    now = services(app).clock.now()
    with services(app).db.writing() as session:
        for callback in callbacks:
            intent = hub_store.Intent("subscribe", TOPIC, "thoi-su", "json", callback, None, 600)
            hub_store.record_intent(session, intent, now)


def _hub(app: Flask) -> BuiltInHub:
    hub = services(app).websub
    assert isinstance(hub, BuiltInHub)
    return hub


def test_deliveries_go_out_while_forty_verifications_hang(
    honest: Honest, silent: Silent, database_url: str, apps: list[Flask]
) -> None:
    app = hub_app(database_url, **WORKER)
    apps.append(app)
    _pending(app, [honest.callback()])
    _activate_all(app)
    attack = [
        silent.callback(f"/never/{n}", host=LOOPBACK_SPELLINGS[n % len(LOOPBACK_SPELLINGS)])
        for n in range(40)
    ]
    _pending(app, attack)
    hub = _hub(app)
    hub.start()
    deadline = time.monotonic() + 5
    while silent.open < 3 and time.monotonic() < deadline:  # the verifications now hang
        time.sleep(0.01)
    assert silent.open >= 3
    with services(app).db.writing() as session:
        head = feed_store.snapshot_head(session, "thoi-su")
        assert head is not None
        hub_store.enqueue(session, "thoi-su", head.version, services(app).clock.now())
    sent = time.monotonic()
    hub.wake()
    assert honest.wait(1, timeout=10)
    assert honest.deliveries[0][0] - sent < 1.0  # before: behind 8 slots held for 4 s each


def test_at_most_a_few_requests_to_one_callback_host_at_once(
    silent: Silent, database_url: str, apps: list[Flask]
) -> None:
    app = hub_app(database_url, FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST="100", **WORKER)
    apps.append(app)
    _pending(app, [silent.callback(f"/never/{n}") for n in range(10)])
    _hub(app).start()
    time.sleep(1.5)  # three rounds of 0.5 s tries
    assert silent.accepted >= 4
    assert silent.most == 2  # FEEDSVC_WEBSUB_HOST_CONCURRENCY; before: 8 at once


def test_a_callback_that_never_confirmed_gets_one_short_try(
    silent: Silent, database_url: str, apps: list[Flask]
) -> None:
    app = hub_app(database_url, **WORKER)
    apps.append(app)
    callback = silent.callback("/once?token=abc")
    _pending(app, [callback])
    started = time.monotonic()
    _hub(app).start()

    def gone() -> bool:
        with services(app).db.reading() as session:
            return hub_store.get_subscription(session, TOPIC, callback) is None

    while not gone() and time.monotonic() - started < 3:
        time.sleep(0.05)
    assert gone() and time.monotonic() - started < 1.5  # the 0.5 s try, then refused
    time.sleep(1.0)
    assert silent.accepted == 1  # no series of retries to a host a stranger chose
