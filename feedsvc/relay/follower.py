"""Follows the feeds the destinations need: subscribes to each through the hub the feed names
(push), and polls it with conditional GETs (``If-None-Match``) — often when no subscription
is in force, seldom as a safety net when one is. Every feed document, pushed or polled, goes
to the router, which puts its new stories in the outbox."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from feedsvc.clock import Clock
from feedsvc.relay import client, outbox
from feedsvc.relay.callback import UnknownFeed, WebSubCallback
from feedsvc.relay.config import Destination, RelayConfig
from feedsvc.relay.message import Story, story_from_item
from feedsvc.store.db import Database

log = logging.getLogger(__name__)
VERIFY_WAIT = 30.0  # seconds to wait for the hub's verification before asking again
KNOWN_MAX = 100_000  # (destination, story) pairs remembered; past it, the outbox answers


class Router:
    """Turns a feed's items into outbox rows for the destinations that want them."""

    def __init__(
        self,
        config: RelayConfig,
        db: Database,
        clock: Clock,
        woken: Callable[[str], None],
    ) -> None:
        self.config, self.db, self.clock, self.woken = config, db, clock, woken
        self.lock = threading.Lock()
        self.known: set[tuple[str, str]] = set()  # (destination, story id) already in the outbox

    def route(self, key: str, items: list[Any], how: str) -> int:
        """Queue the items' new stories (``how``: pushed or polled, for the log); how many rows
        were added."""
        stories = [s for s in (story_from_item(i) for i in items if isinstance(i, dict)) if s]
        oldest = self.clock.now() - timedelta(seconds=self.config.max_age_seconds)
        entries: list[tuple[str, str, Story]] = []
        for destination in self.config.destinations:
            if key not in destination.feed_keys:
                continue
            for story in stories:
                if (destination.name, story.id) in self.known:
                    continue
                if not _wanted(destination, story, oldest):
                    continue
                entries.append((destination.name, key, story))
        if not entries:
            return 0
        with self.lock:
            with self.db.writing() as session:
                added = outbox.enqueue(session, entries, self.clock.now())
            if len(self.known) > KNOWN_MAX:
                self.known.clear()  # only a shortcut: the outbox's unique index is the rule
            self.known.update((name, story.id) for name, _, story in entries)
        for name in {name for name, _, _ in entries}:
            self.woken(name)
        if added:
            log.info("relay: feed %s: %d new stories queued (%s)", key, added, how)
        return added


def _wanted(destination: Destination, story: Story, oldest: Any) -> bool:
    published = story.published_at()
    if published is not None and published < oldest:
        return False  # older than the window: not news any more (no flood at start-up)
    return destination.wants(f"{story.title}\n{story.summary}")


@dataclass
class Followed:
    """What the follower knows of one feed."""

    key: str
    url: str
    topic: str
    etag: str | None = None
    hub: str | None = None
    subscribed_until: float = 0.0  # time.monotonic(): renew before this
    asked_at: float = float("-inf")
    next_poll: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Follower:
    """Polls and subscribes; runs in its own thread."""

    def __init__(
        self,
        config: RelayConfig,
        router: Router,
        callback: WebSubCallback | None,
        secret: str,
        stop: threading.Event,
    ) -> None:
        self.config, self.router, self.callback = config, router, callback
        self.secret, self.stop = secret, stop
        urls = {key: f"{config.service_url}/feeds/{key}.json" for key in config.feed_keys}
        # The topic is the feed's URL until its Link rel="self" says otherwise.
        self.feeds = {key: Followed(key, url, url) for key, url in urls.items()}
        self.thread = threading.Thread(target=self._run, name="relay-follower", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def delivered(self, key: str, body: bytes) -> None:
        """A feed document pushed by the hub (signature already checked)."""
        if key not in self.feeds:
            raise UnknownFeed(key)
        self.router.route(key, _items(json.loads(body)), "pushed")

    def _run(self) -> None:
        while not self.stop.is_set():
            now = time.monotonic()
            for feed in self.feeds.values():
                if self.stop.is_set():
                    break
                try:
                    if now >= feed.next_poll:
                        self._poll(feed)
                    if self._should_subscribe(feed, time.monotonic()):
                        self._subscribe(feed)
                except Exception:  # the database away, a bug: logged; the next round tries again
                    log.exception("relay: feed %s: polling or subscribing failed", feed.key)
            self.stop.wait(min(0.2, self.config.poll_seconds))

    def _interval(self, feed: Followed) -> float:
        subscribed = feed.subscribed_until > time.monotonic()
        return self.config.safety_poll_seconds if subscribed else self.config.poll_seconds

    def _poll(self, feed: Followed) -> None:
        feed.next_poll = time.monotonic() + self._interval(feed)
        headers = {"Accept": "application/feed+json"}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        try:
            answer = client.request("GET", feed.url, self.config.timeout_seconds, headers=headers)
        except client.Unreachable as exc:
            log.warning("relay: cannot read feed %s: %s", feed.key, exc)
            return
        if answer.status == 304:
            return
        if answer.status != 200:
            log.warning("relay: feed %s answered %d", feed.key, answer.status)
            return
        try:
            document = json.loads(answer.body)
            self.router.route(feed.key, _items(document), "polled")
        except ValueError as exc:
            log.warning("relay: feed %s is not a JSON Feed: %s", feed.key, exc)
            return
        feed.etag = answer.headers.get("ETag")  # only once its stories are stored
        links = _links(answer.headers.get_all("Link") or [])
        hub = links.get("hub") or _first_hub(document)
        if hub != feed.hub:
            feed.hub, feed.subscribed_until = hub, 0.0
        feed.topic = links.get("self", feed.url)

    def _should_subscribe(self, feed: Followed, now: float) -> bool:
        if self.callback is None or self.config.callback_url is None or not feed.hub:
            return False
        return now >= feed.subscribed_until and now - feed.asked_at >= VERIFY_WAIT

    def _subscribe(self, feed: Followed) -> None:
        assert self.callback is not None and feed.hub is not None
        feed.asked_at = time.monotonic()

        def confirmed(lease: int) -> None:
            lease = lease or self.config.lease_seconds
            feed.subscribed_until = time.monotonic() + max(30.0, lease * 0.8)
            feed.next_poll = time.monotonic()  # one poll now: anything published meanwhile
            log.info("relay: feed %s: subscribed through the hub for %d s", feed.key, lease)

        self.callback.expect("subscribe", feed.topic, confirmed)
        form = {
            "hub.mode": "subscribe",
            "hub.topic": feed.topic,
            "hub.callback": f"{self.config.callback_url}/{feed.key}",
            "hub.secret": self.secret,
            "hub.lease_seconds": str(self.config.lease_seconds),
        }
        try:
            answer = client.post_form(feed.hub, form, self.config.timeout_seconds)
        except client.Unreachable as exc:
            self.callback.forget("subscribe", feed.topic)
            log.warning("relay: feed %s: the hub did not answer (%s); polling", feed.key, exc)
            return
        if answer.status != 202:
            self.callback.forget("subscribe", feed.topic)
            text = answer.body[:200].decode("utf-8", "replace")
            log.warning(
                "relay: feed %s: the hub refused the subscription (%d: %s); polling meanwhile",
                feed.key,
                answer.status,
                text,
            )


def _items(document: Any) -> list[Any]:
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValueError("no items")
    return list(document["items"])


def _first_hub(document: dict[str, Any]) -> str | None:
    hubs = document.get("hubs") or []
    if hubs and isinstance(hubs[0], dict) and isinstance(hubs[0].get("url"), str):
        return str(hubs[0]["url"])
    return None


def _links(values: list[str]) -> dict[str, str]:
    """rel -> URL from Link header values (each may hold several links)."""
    links: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            url, _, params = part.partition(";")
            for param in params.split(";"):
                name, _, rel = param.strip().partition("=")
                if name == "rel":
                    links.setdefault(rel.strip('"'), url.strip(" <>"))
    return links
