"""The relay's WebSub callback over a real socket: it confirms only what it asked for, and
hands on only deliveries signed with its secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
import requests

from feedsvc.relay.callback import UnknownFeed, WebSubCallback

TOPIC = "http://127.0.0.1:8000/feeds/all.json"


@pytest.fixture
def callback() -> Iterator[tuple[WebSubCallback, list[tuple[str, bytes]]]]:
    got: list[tuple[str, bytes]] = []

    def on_feed(key: str, body: bytes) -> None:
        if body == b"boom":
            raise OSError("database is away")
        if key == "gone":
            raise UnknownFeed(key)
        got.append((key, body))

    server = WebSubCallback(("127.0.0.1", 0), "s3cret", on_feed)
    server.start()
    yield server, got
    server.close()


def url(server: WebSubCallback, key: str = "all") -> str:
    return f"http://127.0.0.1:{server.port}/websub/{key}"


def verify(server: WebSubCallback, mode: str = "subscribe") -> requests.Response:
    query = {
        "hub.mode": mode,
        "hub.topic": TOPIC,
        "hub.challenge": "c-1",
        "hub.lease_seconds": "60",
    }
    return requests.get(url(server), params=query, timeout=5)


def test_confirms_only_its_own_requests_once(
    callback: tuple[WebSubCallback, list[tuple[str, bytes]]],
) -> None:
    server, _ = callback
    assert verify(server).status_code == 404  # nobody asked
    leases: list[int] = []
    server.expect("subscribe", TOPIC, leases.append)
    assert verify(server, "unsubscribe").status_code == 404  # a stranger's unsubscribe
    answer = verify(server)
    assert (answer.status_code, answer.text, leases) == (200, "c-1", [60])
    assert verify(server).status_code == 404  # once


def signed(body: bytes, secret: str = "s3cret") -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def test_only_signed_deliveries_are_handed_on(
    callback: tuple[WebSubCallback, list[tuple[str, bytes]]],
) -> None:
    server, got = callback
    body = b'{"items": []}'
    assert (
        requests.post(url(server), data=body, headers=signed(body, "other"), timeout=5).status_code
        == 202
    )
    assert requests.post(url(server), data=body, timeout=5).status_code == 202
    assert got == []
    assert (
        requests.post(
            url(server, "thoi-su"), data=body, headers=signed(body), timeout=5
        ).status_code
        == 204
    )
    assert got == [("thoi-su", body)]
    # Not stored: the hub hears 503 and delivers again later.
    answer = requests.post(url(server), data=b"boom", headers=signed(b"boom"), timeout=5)
    assert answer.status_code == 503
    # A feed no longer followed: 410 Gone ends the subscription (WebSub §7).
    gone = requests.post(url(server, "gone"), data=body, headers=signed(body), timeout=5)
    assert gone.status_code == 410
