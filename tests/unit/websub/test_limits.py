"""The hub's limits one piece at a time: the per-client token bucket, the client key, counting
by callback host in SQL, claims that respect a per-host budget, the retries a known subscriber
keeps, and this machine's interface addresses. The attacks they stop are in
tests/security/test_hub_starvation.py."""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta

import pytest
from flask import Flask

from feedsvc.websub import store as hub_store
from feedsvc.websub.client import Caller
from feedsvc.websub.hub import verify_intent
from feedsvc.websub.interfaces import interface_addresses
from feedsvc.websub.limits import RateLimiter, client_key
from feedsvc.websub.safety import AddressPolicy, callback_host

from tests.helpers.app import services

TOPIC = "http://feeds.test/feeds/thoi-su.json"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self"}


def test_the_bucket_allows_a_burst_then_one_request_per_share_of_the_minute() -> None:
    now = [100.0]
    limiter = RateLimiter(per_minute=6, clock=lambda: now[0])  # one every 10 s after the burst
    assert [limiter.check("192.0.2.1") for _ in range(6)] == [None] * 6
    assert limiter.check("192.0.2.1") == 10
    now[0] += 4
    assert limiter.check("192.0.2.1") == 6  # refused requests do not count against it
    now[0] += 6
    assert limiter.check("192.0.2.1") is None
    assert limiter.check("192.0.2.1") == 10
    now[0] += 3600  # refilled to the burst, never beyond it
    assert [limiter.check("192.0.2.1") for _ in range(7)][-2:] == [None, 10]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "unknown"),
    ],
)
def test_client_key(address: str, key: str) -> None:
    assert client_key(address) == key


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Relay.Example/cb", "relay.example"),
        ("http://relay.example:8080/cb?x=1", "relay.example"),
        ("http://[2001:DB8::1]:80/cb", "[2001:db8::1]"),
        ("http://2130706433/cb", "2130706433"),  # one address, another spelling: another host
    ],
)
def test_callback_host(url: str, host: str) -> None:
    assert callback_host(url) == host


def _record(app: Flask, callbacks: list[str]) -> None:
    now = services(app).clock.now()
    with services(app).db.writing() as session:
        for callback in callbacks:
            intent = hub_store.Intent("subscribe", TOPIC, "thoi-su", "json", callback, None, 60)
            hub_store.record_intent(session, intent, now)


def test_counts_by_host_match_the_host_exactly(app: Flask) -> None:
    same = [
        "https://Relay.Example/cb",
        "http://relay.example:8080/x",
        "https://relay.example?x=1",
        "https://relay.example",
        "HTTPS://RELAY.EXAMPLE/upper",
    ]
    others = [
        "https://relay.example.evil/cb",
        "https://sub.relay.example/cb",
        "https://relayXexample/cb",  # a LIKE wildcard would match this one
        "https://relay_example/cb",
        "http://[2001:db8::1]/cb",
    ]
    _record(app, same + others)
    with services(app).db.reading() as session:
        assert hub_store.counts(session, "relay.example") == hub_store.Counts(5, 5)
        assert hub_store.counts(session, "relay_example") == hub_store.Counts(1, 1)
        assert hub_store.counts(session, "[2001:db8::1]").subscriptions == 1
        assert hub_store.counts(session) == hub_store.Counts(10, 10)


def test_claims_respect_the_room_of_each_host(app: Flask) -> None:
    _record(app, [f"https://busy.example/cb/{n}" for n in range(5)])
    _record(app, ["https://quiet.example/a", "https://quiet.example/b", "https://calm.example/c"])
    now = services(app).clock.now()
    room = hub_store.HostRoom(per_host=2)
    room.busy["busy.example"] = 1  # one request to it is already under way
    with services(app).db.writing() as session:
        jobs = hub_store.claim_verifications(session, now, now + timedelta(seconds=30), 8, room)
    hosts = sorted(callback_host(job.callback) for job in jobs)
    assert hosts == ["busy.example", "calm.example", "quiet.example", "quiet.example"]
    assert room.busy["busy.example"] == 2 and room.full() == {"busy.example", "quiet.example"}


def test_a_known_subscriber_keeps_its_retries(app: Flask) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        callback = f"http://127.0.0.1:{sock.getsockname()[1]}/cb"
    _record(app, [callback])
    s, now = services(app), services(app).clock.now()
    with s.db.writing() as session:
        (job,) = hub_store.claim_verifications(session, now, now + timedelta(seconds=30), 1)
    caller = Caller(AddressPolicy(True), 0.5)
    renewal = hub_store.VerifyJob(**{**vars(job), "active": True})
    assert verify_intent(renewal, caller, s.db, s.settings, s.clock) == "retry"
    later = now + timedelta(seconds=20)  # after the first retry delay (15 s)
    with s.db.writing() as session:
        (job,) = hub_store.claim_verifications(session, later, later + timedelta(seconds=30), 1)
    assert job.attempts == 1 and not job.active
    assert verify_intent(job, caller, s.db, s.settings, s.clock) == "refused"  # a stranger's


def test_interface_addresses_hold_loopback() -> None:
    found = interface_addresses()
    if not found:
        pytest.skip("no getifaddrs on this system")
    assert ipaddress.ip_address("127.0.0.1") in found
