"""Polite polling: a client that fetches the same feed in full, without a validator, more often
than FEEDSVC_POLL_LIMIT allows gets ``429 Too Many Requests`` with ``Retry-After`` (RFC 6585 §4)
and a short text saying how to poll.

Only the hot path's unconditional requests reach :meth:`PollGuard.check`: a request with
``If-None-Match`` or ``If-Modified-Since`` is never refused (it costs a ``304``). Requests from
FEEDSVC_TRUSTED_PROXIES are never refused either: a cache in front fetches for all its clients,
and it applies the same rule itself (deploy/nginx/feedsvc-stats.conf). Neither are the
addresses and User-Agents of FEEDSVC_POLL_ALLOW.

Memory is bounded: each process keeps the windows of at most :data:`MAX_WINDOWS` (client, feed)
pairs, least recently seen dropped first, keyed by a hash (no address is kept). A client pushed
out is forgiven, never refused by mistake.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from feedsvc.http.client import TrustedProxies, parse_address

MAX_WINDOWS = 50_000
_PEER_CACHE_LIMIT = 4096


class PollGuard:
    """Counts each client's unconditional fetches of each feed in a fixed window."""

    def __init__(
        self,
        limit: tuple[int, int],
        trusted: TrustedProxies,
        allow: tuple[TrustedProxies, tuple[str, ...]] = (TrustedProxies(), ()),
        *,
        max_windows: int = MAX_WINDOWS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count, self.seconds = limit
        self.trusted = trusted
        self.allowed_networks, self.allowed_agents = allow
        self.max_windows = max_windows
        self.clock = clock
        # hash((peer, user agent, path)) -> [window start, requests in it]
        self.windows: OrderedDict[int, list[float]] = OrderedDict()
        self._exempt_peers: dict[str, bool] = {}

    def check(self, environ: Mapping[str, Any], path: str) -> int:
        """0 when this unconditional request may be answered; else the seconds to wait."""
        peer = environ.get("REMOTE_ADDR") or ""
        exempt = self._exempt_peers.get(peer)
        if exempt is None:
            exempt = self._peer_exempt(peer)
        if exempt:
            return 0
        agent = environ.get("HTTP_USER_AGENT") or ""
        key = hash((peer, agent, path))
        now = self.clock()
        windows = self.windows
        window = windows.get(key)
        if window is None or now - window[0] >= self.seconds:
            windows[key] = [now, 1.0]
            windows.move_to_end(key)
            if len(windows) > self.max_windows:
                windows.popitem(last=False)
            return 0
        windows.move_to_end(key)
        window[1] += 1
        if window[1] <= self.count:
            return 0
        lowered = agent.lower()
        if any(text in lowered for text in self.allowed_agents):
            return 0
        return max(1, math.ceil(window[0] + self.seconds - now))

    def _peer_exempt(self, peer: str) -> bool:
        address = parse_address(peer)
        exempt = address is not None and (
            address in self.trusted or address in self.allowed_networks
        )
        if len(self._exempt_peers) >= _PEER_CACHE_LIMIT:
            self._exempt_peers.clear()
        self._exempt_peers[peer] = exempt
        return exempt


def refusal_text(count: int, seconds: int, ttl_minutes: int, retry_after: int) -> str:
    """The 429's body: what happened and how to poll instead."""
    return (
        f"429 Too Many Requests: this feed was fetched in full more than {count} times in "
        f"{seconds} s from your client without a validator. Poll politely: send back the ETag "
        "you were given as If-None-Match (or Last-Modified as If-Modified-Since); such "
        "requests are never refused and cost a 304 when nothing changed. Poll no more often "
        f"than the feed's ttl ({ttl_minutes} min). Retry after {retry_after} s.\n"
    )
