"""The address of the client behind a request, with ``X-Forwarded-For`` believed only from
proxies we trust (FEEDSVC_TRUSTED_PROXIES).

Behind the shipped nginx every request comes from 127.0.0.1: a per-client limit keyed on the peer
would throttle every reader at once. Anyone can send ``X-Forwarded-For``, though, so the header is
read only when the peer is a trusted proxy, and then from the right: each trusted proxy appends
the address it received the request from, so the first untrusted address met walking leftwards
is the client; everything to its left was written by the client and proves nothing.

Pure functions of the WSGI environ: no framework, called by whoever needs a client's address
(the hub's per-client limit, the access log, the audience figures).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_HOPS", "TrustedProxies", "client_address", "parse_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Hops examined from the right of X-Forwarded-For: real chains have one or two proxies. Walking
# further would let a client make every request cost a parse of a header it wrote.
MAX_HOPS = 16
# An IPv6 address with a zone is at most 45 + 1 + an interface name; anything longer is not one.
_MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The networks whose ``X-Forwarded-For`` is believed; empty: the header is never read."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> TrustedProxies:
        """Parse addresses or CIDR networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``);
        ValueError names the first entry that is neither."""
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{entry.strip()!r} is not an IP address or a CIDR network such as 10.0.0.0/8"
                ) from None
        return cls(tuple(networks))

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPAddress) and any(address in net for net in self.networks)


def client_address(environ: Mapping[str, Any], trusted: TrustedProxies) -> str:
    """The client's IP address: the peer, or, when the peer is a trusted proxy, the nearest
    address in ``X-Forwarded-For`` that is not a trusted proxy (the peer when that header is
    absent or malformed). Never raises; a peer that is not an IP address is returned as sent."""
    raw_peer = str(environ.get("REMOTE_ADDR") or "")
    peer = parse_address(raw_peer)
    if peer is None:
        return raw_peer
    if peer not in trusted:
        return str(peer)
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if not isinstance(forwarded, str) or not forwarded.strip(" \t"):
        return str(peer)
    found = _nearest_untrusted(forwarded, trusted)
    return str(peer if found is None else found)


def _nearest_untrusted(forwarded: str, trusted: TrustedProxies) -> IPAddress | None:
    """The rightmost address of the header not in ``trusted`` (or its leftmost, when every
    hop is trusted); None when a hop examined is not an address, or when more than MAX_HOPS
    trusted hops hide the client."""
    # Several X-Forwarded-For lines reach WSGI joined by commas, in order (RFC 9110 §5.3).
    # rsplit keeps everything left of the last MAX_HOPS entries in one unexamined part.
    hops = forwarded.rsplit(",", MAX_HOPS)
    beyond_reach = len(hops) > MAX_HOPS
    address: IPAddress | None = None
    for hop in reversed(hops[1:] if beyond_reach else hops):
        address = parse_address(hop.strip(" \t"))
        if address is None:
            return None
        if address not in trusted:
            return address
    # Every hop examined is a trusted proxy: the leftmost is as far as anyone can see.
    return None if beyond_reach else address


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (IPv4-mapped IPv6 as IPv4), or None; no ports, no brackets."""
    if not text or len(text) > _MAX_ADDRESS_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: one client, one address.
        return address.ipv4_mapped
    return address
