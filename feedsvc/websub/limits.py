"""What the built-in hub takes from strangers: requests per client per minute, and how many
subscriptions and requests awaiting verification it holds per callback host and in total.

A hub answers anyone, and every request it accepts makes it call a URL the requester chose;
without these limits one anonymous client fills its queue and its worker slots (issue 13,
finding 1). Refusals are ``429`` with ``Retry-After`` and a message naming the limit.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from feedsvc.config import Settings
from feedsvc.websub import store
from feedsvc.websub.safety import callback_host

MAX_CLIENTS = 10_000  # client addresses remembered per worker (least recently seen forgotten)
PENDING_RETRY_AFTER = 60  # seconds: requests waiting for verification are settled by then
FULL_RETRY_AFTER = 3600  # seconds: subscriptions end only when unsubscribed or expired


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and when to try again (seconds)."""

    message: str
    retry_after: int


def client_key(address: str) -> str:
    """The unit a per-client limit counts: an IPv4 address, or the /64 an IPv6 address is in
    (one subscriber line holds a whole /64, so counting single addresses would count nothing)."""
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address  # not an address (a unix socket's peer): counted as given
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class RateLimiter:
    """Requests per client per minute: a token bucket per client (a burst of ``per_minute``,
    then one every 60/``per_minute`` seconds), kept in memory in a table of at most
    ``max_clients`` entries, so a client rotating addresses cannot grow it without bound."""

    def __init__(
        self,
        per_minute: int,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def check(self, address: str) -> int | None:
        """Count one request of ``address``: None when it may go on, else the whole seconds
        until it may (its Retry-After)."""
        key = client_key(address)
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)  # the most recently seen go last
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def __len__(self) -> int:
        return len(self._buckets)


def admission(session: Session, intent: store.Intent, settings: Settings) -> Refusal | None:
    """Whether the hub can take ``intent`` now: None, or the limit it would break.

    A request that replaces one already waiting adds nothing and is always taken; a renewal
    or an unsubscribe adds a request to verify; a new subscription adds both.
    """
    existing = store.get_subscription(session, intent.topic, intent.callback)
    if existing is not None and existing.pending_id is not None:
        return None
    if existing is None and intent.mode == "unsubscribe":
        return None  # nothing to verify: answered without a request to the callback
    host = callback_host(intent.callback)
    totals = store.counts(session)
    mine = store.counts(session, host)
    if existing is None:
        if mine.subscriptions >= settings.websub_max_subscriptions_per_host:
            return Refusal(
                f"the callback host {host} already has {mine.subscriptions} subscriptions, the "
                "most this hub keeps per host (FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS_PER_HOST); "
                "unsubscribe some first",
                FULL_RETRY_AFTER,
            )
        if totals.subscriptions >= settings.websub_max_subscriptions:
            return Refusal(
                f"this hub holds its most subscriptions ({totals.subscriptions}, "
                "FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS); try again later",
                FULL_RETRY_AFTER,
            )
    if mine.pending >= settings.websub_max_pending_per_host:
        return Refusal(
            f"the callback host {host} has {mine.pending} requests waiting for verification, "
            "the most this hub takes per host (FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST); answer "
            "those verifications first",
            PENDING_RETRY_AFTER,
        )
    if totals.pending >= settings.websub_max_pending:
        return Refusal(
            f"this hub has {totals.pending} requests waiting for verification, the most it "
            "takes (FEEDSVC_WEBSUB_MAX_PENDING); try again later",
            PENDING_RETRY_AFTER,
        )
    return None
