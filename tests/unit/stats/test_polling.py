"""Polite polling: the 429 rules, in the guard and through the hot path."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from feedsvc.config.parsers import poll_allow
from feedsvc.http.client import TrustedProxies
from feedsvc.stats.polling import PollGuard

CLIENT = "203.0.113.7"
PROXY = "127.0.0.1"
FEED = "/feeds/thoi-su.rss"


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(
    limit: tuple[int, int] = (3, 60), allow: str = "", max_windows: int = 100
) -> tuple[PollGuard, Ticks]:
    ticks = Ticks()
    made = PollGuard(
        limit,
        TrustedProxies.of(["127.0.0.1"]),
        poll_allow(allow),
        max_windows=max_windows,
        clock=ticks,
    )
    return made, ticks


def env(address: str = CLIENT, agent: str = "newsboat/2.30") -> dict[str, Any]:
    return {"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent}


def test_beyond_the_limit_a_client_waits_for_the_window() -> None:
    g, ticks = guard()
    assert [g.check(env(), FEED) for _ in range(3)] == [0, 0, 0]
    ticks.now += 10
    assert g.check(env(), FEED) == 50
    ticks.now += 50
    assert g.check(env(), FEED) == 0  # a new window


def test_feeds_and_clients_are_counted_apart() -> None:
    g, _ticks = guard(limit=(1, 60))
    assert g.check(env(), FEED) == 0
    assert g.check(env(), "/feeds/all.rss") == 0
    assert g.check(env(agent="NetNewsWire"), FEED) == 0  # another reader behind the same NAT
    assert g.check(env(address="198.51.100.1"), FEED) == 0
    assert g.check(env(), FEED) > 0


@pytest.mark.parametrize(
    ("address", "agent", "allow"),
    [
        (PROXY, "anything", ""),  # a trusted proxy (the cache) is never refused
        ("10.1.2.3", "newsboat", "10.0.0.0/8"),
        ("2001:db8::5", "newsboat", "2001:db8::/32"),
        (CLIENT, "Mozilla/5.0 (compatible; Partner-Fetcher/1.0)", "ua:partner-fetcher"),
    ],
)
def test_allowed_clients_are_never_refused(address: str, agent: str, allow: str) -> None:
    g, _ticks = guard(limit=(1, 60), allow=allow)
    assert [g.check(env(address, agent), FEED) for _ in range(10)] == [0] * 10


def test_memory_is_bounded_and_a_forgotten_client_is_forgiven() -> None:
    g, _ticks = guard(limit=(1, 60), max_windows=10)
    assert g.check(env(), FEED) == 0
    for n in range(20):
        g.check(env(address=f"198.51.100.{n}"), FEED)
    assert len(g.windows) == 10
    assert g.check(env(), FEED) == 0  # pushed out: starts again, never refused by mistake


# --- through the hot path ----------------------------------------------------------------------


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_POLL_LIMIT": "2/300"}


def get(app: Flask, address: str = CLIENT, **headers: str) -> Any:
    return app.test_client().get(
        FEED, headers=headers, environ_base={"REMOTE_ADDR": address, "HTTP_USER_AGENT": "x/1"}
    )


def test_429_with_retry_after_and_how_to_poll(newsroom: Flask) -> None:
    first = get(newsroom)
    assert [first.status_code, get(newsroom).status_code] == [200, 200]
    refused = get(newsroom)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = refused.get_data(as_text=True)
    assert "If-None-Match" in text and "ttl (1 min)" in text
    # A conditional request is never refused: the validators it was given answer 304.
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get(newsroom, **{"If-None-Match": etag}).status_code == 304
    assert get(newsroom, **{"If-Modified-Since": modified}).status_code == 304
    # Nor is a request through the trusted proxy (the cache applies the rule itself).
    assert get(newsroom, address=PROXY).status_code == 200
    assert get(newsroom, address="198.51.100.1").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_POLL_LIMIT": "off"}])
def test_off_refuses_nothing(newsroom: Flask) -> None:
    assert {get(newsroom).status_code for _ in range(20)} == {200}
