"""Table tests for the client address of a request: the peer, or X-Forwarded-For from the right
when (and only when) the peer is a trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest

from feedsvc.config import ConfigError, load_settings
from feedsvc.http.client import MAX_HOPS, TrustedProxies, client_address, parse_address

LOOPBACK = TrustedProxies.of(["127.0.0.1", "::1"])
TWO_TIERS = TrustedProxies.of(["127.0.0.1", "10.0.0.0/8"])
NOBODY = TrustedProxies()


def environ(peer: str | None, forwarded: str | None = None) -> dict[str, Any]:
    env: dict[str, Any] = {}
    if peer is not None:
        env["REMOTE_ADDR"] = peer
    if forwarded is not None:
        env["HTTP_X_FORWARDED_FOR"] = forwarded
    return env


CASES = [
    # (peer, X-Forwarded-For, trusted, expected, why)
    ("203.0.113.7", None, LOOPBACK, "203.0.113.7", "a direct client"),
    ("203.0.113.7", "198.51.100.1", LOOPBACK, "203.0.113.7", "untrusted peer: header ignored"),
    ("127.0.0.1", None, LOOPBACK, "127.0.0.1", "the proxy sent no header"),
    ("127.0.0.1", "", LOOPBACK, "127.0.0.1", "an empty header"),
    ("127.0.0.1", "  ", LOOPBACK, "127.0.0.1", "a blank header"),
    ("127.0.0.1", "198.51.100.1", LOOPBACK, "198.51.100.1", "behind nginx"),
    ("127.0.0.1", " 198.51.100.1 ", LOOPBACK, "198.51.100.1", "spaces around a hop"),
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", LOOPBACK, "198.51.100.1", "client-written left part"),
    ("127.0.0.1", "evil, 198.51.100.1", LOOPBACK, "198.51.100.1", "junk left of the client"),
    ("127.0.0.1", "198.51.100.1, 10.1.2.3", TWO_TIERS, "198.51.100.1", "two trusted tiers"),
    ("127.0.0.1", "198.51.100.1, 10.1.2.3", LOOPBACK, "10.1.2.3", "10/8 not trusted here"),
    ("127.0.0.1", "10.9.9.9, 10.1.2.3", TWO_TIERS, "10.9.9.9", "every hop trusted: leftmost"),
    ("127.0.0.1", "198.51.100.1,127.0.0.1", LOOPBACK, "198.51.100.1", "a trusted hop skipped"),
    ("127.0.0.1", "198.51.100.1, junk", LOOPBACK, "127.0.0.1", "malformed hop: the peer"),
    ("127.0.0.1", "198.51.100.1:4711", LOOPBACK, "127.0.0.1", "a port: malformed"),
    ("127.0.0.1", "[2001:db8::1]", LOOPBACK, "127.0.0.1", "brackets: malformed"),
    ("127.0.0.1", "198.51.100.1,", LOOPBACK, "127.0.0.1", "an empty hop: malformed"),
    ("127.0.0.1", "unknown", LOOPBACK, "127.0.0.1", "RFC 7239's obfuscated value"),
    ("127.0.0.1", "1" * 5000, LOOPBACK, "127.0.0.1", "a huge value"),
    ("127.0.0.1", "2001:db8::1", LOOPBACK, "2001:db8::1", "an IPv6 client"),
    ("127.0.0.1", "2001:DB8:0::1", LOOPBACK, "2001:db8::1", "IPv6 written long"),
    ("::1", "198.51.100.1", LOOPBACK, "198.51.100.1", "an IPv6 proxy"),
    ("::ffff:127.0.0.1", "198.51.100.1", LOOPBACK, "198.51.100.1", "a dual-stack proxy"),
    ("::ffff:203.0.113.7", None, LOOPBACK, "203.0.113.7", "a dual-stack client"),
    ("127.0.0.1", "::ffff:198.51.100.1", LOOPBACK, "198.51.100.1", "a mapped hop"),
    ("127.0.0.1", "198.51.100.1", NOBODY, "127.0.0.1", "nobody trusted"),
    ("", "198.51.100.1", LOOPBACK, "", "no peer (some test servers)"),
    (None, "198.51.100.1", LOOPBACK, "", "REMOTE_ADDR absent"),
    ("unix:/run/x.sock", "198.51.100.1", LOOPBACK, "unix:/run/x.sock", "a peer that is no IP"),
]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [case[:4] for case in CASES],
    ids=[case[4] for case in CASES],
)
def test_client_address(
    peer: str | None, forwarded: str | None, trusted: TrustedProxies, expected: str
) -> None:
    assert client_address(environ(peer, forwarded), trusted) == expected


def test_the_walk_stops_after_max_hops() -> None:
    trusted = TrustedProxies.of(["10.0.0.0/8"])
    chain = ", ".join(f"10.0.0.{i}" for i in range(MAX_HOPS))
    peer = "10.255.0.1"
    # MAX_HOPS trusted hops and the client just left of them: out of reach, so the peer.
    far = client_address(environ(peer, f"198.51.100.1, {chain}"), trusted)
    assert far == peer
    # MAX_HOPS - 1 trusted hops: the client is the last entry examined.
    near = ", ".join(chain.split(", ")[1:])
    assert client_address(environ(peer, f"198.51.100.1, {near}"), trusted) == "198.51.100.1"
    # Every hop trusted and all of them examined: the leftmost.
    assert client_address(environ(peer, chain), trusted) == "10.0.0.0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("192.0.2.1 ", None),
        ("192.0.2", None),
        ("", None),
        ("x" * 65, None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    found = parse_address(text)
    assert (None if found is None else str(found)) == expected


def test_trusted_proxies_setting() -> None:
    default = load_settings({}).trusted_proxies
    assert parse_address("127.0.0.1") in default and parse_address("::1") in default
    assert parse_address("127.0.0.2") not in default
    assert load_settings({"FEEDSVC_TRUSTED_PROXIES": ""}).trusted_proxies == NOBODY
    chosen = load_settings({"FEEDSVC_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5"}).trusted_proxies
    assert parse_address("10.200.0.1") in chosen and parse_address("192.168.1.5") in chosen
    assert parse_address("192.168.1.6") not in chosen
    # A host part in a network is accepted (10.1.2.3/8 means 10.0.0.0/8), as nginx does.
    assert parse_address("10.9.9.9") in TrustedProxies.of(["10.1.2.3/8"])
    with pytest.raises(ConfigError, match="FEEDSVC_TRUSTED_PROXIES: 'nginx' is not an IP"):
        load_settings({"FEEDSVC_TRUSTED_PROXIES": "127.0.0.1, nginx"})
