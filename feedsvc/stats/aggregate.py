"""Off the request path: hits become per-feed, per-day figures.

For each feed and day (in FEEDSVC_TIMEZONE, the newsroom's day): responses, ``304`` s and
requests that carried a validator; per client name (:mod:`feedsvc.stats.useragents`) the same
three counts and, for an aggregator, its latest subscriber figure; and the distinct direct
clients in a HyperLogLog sketch (:mod:`feedsvc.stats.hll`). A client is its address (through
FEEDSVC_TRUSTED_PROXIES) and User-Agent, hashed with the day's secret (a random key per day,
:func:`feedsvc.store.stats_salt`): raw addresses are never stored, and once a day's secret is
deleted nobody can test an address against that day's sketch.

The hot path's hits (:class:`feedsvc.stats.hits.HitRecorder`) and the cache's access log
(:mod:`feedsvc.stats.logingest`) feed the same :class:`Aggregator`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from feedsvc.http.client import TrustedProxies, client_address
from feedsvc.stats import hll
from feedsvc.stats.useragents import AGGREGATOR, READER_FAMILIES, Client, classify

FEED_PREFIX = "/feeds/"
# The formats readers subscribe to; /feeds/X.html is a page for people, not a subscription.
FEED_FORMATS = frozenset({"rss", "atom", "json"})
COUNTED_STATUSES = frozenset({200, 304})
# Client names kept per feed and day; past it, a new name is counted under "other <family>"
# (a client making up User-Agents cannot grow the tables).
MAX_NAMES = 100
_UA_CACHE_LIMIT = 4096
SaltFor = Callable[[date], bytes]
NO_PROXIES = TrustedProxies()


@dataclass
class ClientTally:
    """One client name's requests to one feed on one day."""

    family: str
    requests: int = 0
    not_modified: int = 0
    validated: int = 0
    subscribers: int | None = None  # the latest figure an aggregator reported
    seen_at: datetime | None = None  # when that figure was reported


@dataclass
class FeedDay:
    """One feed's figures for one day, as gathered since the last write."""

    requests: int = 0
    not_modified: int = 0
    validated: int = 0
    sketch: bytearray = field(default_factory=hll.new_sketch)
    clients: dict[str, ClientTally] = field(default_factory=dict)

    def client(self, found: Client) -> ClientTally:
        """The tally of ``found``'s name (or of its family's "other" once MAX_NAMES are in)."""
        tally = self.clients.get(found.name)
        if tally is None:
            name = found.name
            if len(self.clients) >= MAX_NAMES:
                name = f"other {found.family}"
                tally = self.clients.get(name)
            if tally is None:
                tally = self.clients[name] = ClientTally(found.family)
        return tally


Key = tuple[date, str]  # (day, feed)


def feed_of(path: str) -> str | None:
    """The feed key of ``/feeds/KEY.FORMAT`` for a subscribable format, else None."""
    if not path.startswith(FEED_PREFIX):
        return None
    key, dot, fmt = path[len(FEED_PREFIX) :].rpartition(".")
    if not dot or fmt not in FEED_FORMATS or not key or "/" in key or len(key) > 64:
        return None
    return key


def known_feeds(paths: Iterable[str]) -> set[str]:
    """The feed keys of a set of feed paths (the registry's known paths)."""
    return {key for path in paths if (key := feed_of(path)) is not None}


def client_hash(salt: bytes, address: str, user_agent: str) -> int:
    """A 64-bit keyed hash of one client (BLAKE2b with the day's secret as its key)."""
    digest = hashlib.blake2b(
        f"{address}\n{user_agent}".encode("utf-8", "replace"), key=salt, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


class Aggregator:
    """Per-feed, per-day figures gathered in memory until :meth:`take` hands them over."""

    def __init__(self, salt_for: SaltFor, trusted: TrustedProxies = NO_PROXIES) -> None:
        self.salt_for = salt_for
        self.trusted = trusted
        self.days: dict[Key, FeedDay] = {}
        self._clients: dict[str, Client] = {}

    def add_hits(self, hits: Iterable[tuple[Any, ...]], day: date, when: datetime) -> int:
        """Count the hot path's hits as ``day``'s (recorded since the last drain); how many.

        Identical hits (one client polling one feed again) are counted together: the address
        is resolved, the User-Agent classified and the client hashed once per distinct hit."""
        counted = 0
        for hit, times in Counter(hits).items():
            path, status, peer, forwarded, user_agent, validated = hit
            environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}
            address = client_address(environ, self.trusted)
            if self.add(day, path, status, address, user_agent, validated, when, times):
                counted += times
        return counted

    def add(
        self,
        day: date,
        path: str,
        status: int,
        address: str,
        user_agent: str | None,
        validated: bool,
        when: datetime,
        times: int = 1,
    ) -> bool:
        """Count one response (or ``times`` identical ones); False when it is not a feed
        response that counts (a 404, a page, a 429)."""
        if status not in COUNTED_STATUSES:
            return False
        feed = feed_of(path)
        if feed is None:
            return False
        agent = user_agent or ""
        found = self._classify(agent)
        figures = self.days.get((day, feed))
        if figures is None:
            figures = self.days[(day, feed)] = FeedDay()
        figures.requests += times
        tally = figures.client(found)
        tally.requests += times
        if status == 304:
            figures.not_modified += times
            tally.not_modified += times
        if validated:
            figures.validated += times
            tally.validated += times
        if found.subscribers is not None:
            if tally.seen_at is None or when >= tally.seen_at:
                tally.subscribers, tally.seen_at = found.subscribers, when
        elif found.family in READER_FAMILIES or found.family == AGGREGATOR:
            # A direct reader, or an aggregator that reports no figure (one reader at least).
            hll.add(figures.sketch, client_hash(self.salt_for(day), address, agent))
        return True

    def _classify(self, user_agent: str) -> Client:
        found = self._clients.get(user_agent)
        if found is None:
            if len(self._clients) >= _UA_CACHE_LIMIT:
                self._clients.clear()
            found = self._clients[user_agent] = classify(user_agent)
        return found

    def take(self) -> dict[Key, FeedDay]:
        """Everything gathered since the last take; the aggregator starts empty again."""
        days, self.days = self.days, {}
        return days

    def put_back(self, days: dict[Key, FeedDay]) -> None:
        """Return figures that could not be written (the database is down): merged with what
        came since, written at the next flush."""
        for key, older in days.items():
            current = self.days.get(key)
            if current is None:
                self.days[key] = older
                continue
            current.requests += older.requests
            current.not_modified += older.not_modified
            current.validated += older.validated
            hll.merge(current.sketch, bytes(older.sketch))
            for name, tally in older.clients.items():
                mine = current.clients.setdefault(name, ClientTally(tally.family))
                mine.requests += tally.requests
                mine.not_modified += tally.not_modified
                mine.validated += tally.validated
                if tally.seen_at is not None and (
                    mine.seen_at is None or tally.seen_at > mine.seen_at
                ):
                    mine.subscribers, mine.seen_at = tally.subscribers, tally.seen_at
