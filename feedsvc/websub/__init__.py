"""WebSub (W3C Recommendation): the built-in hub at ``/websub`` (FEEDSVC_WEBSUB_HUB=self) or
notifications to an external hub (FEEDSVC_WEBSUB_HUB=<URL>).

``hub.py`` holds the protocol rules (requests, leases, verification of intent), ``limits.py``
what the hub takes from strangers (requests per client, subscriptions per callback host),
``delivery.py`` the queue worker and content distribution, ``safety.py``, ``interfaces.py`` and
``client.py`` the checks and the pinned, capped connections that keep callbacks away from
private networks and from the service itself, ``store.py`` every query, ``publish.py`` the
external hub. :func:`build` picks what the settings ask for.
"""

from __future__ import annotations

import logging
from typing import Protocol

from feedsvc import store as feed_store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.publish.snapshot import Snapshot
from feedsvc.store.db import Database
from feedsvc.websub import store
from feedsvc.websub.client import Caller
from feedsvc.websub.delivery import HubWorker, SnapshotCache
from feedsvc.websub.gate import DeliveryGate
from feedsvc.websub.limits import RateLimiter
from feedsvc.websub.publish import ExternalHubNotifier
from feedsvc.websub.safety import policy_for

log = logging.getLogger(__name__)


class WebSubService(Protocol):
    """What Services wires: a regenerator listener and a background part to start and stop."""

    def on_snapshot(self, snapshot: Snapshot) -> None: ...

    def start(self) -> None: ...

    def wake(self) -> None: ...

    def stop(self) -> None: ...


class BuiltInHub:
    """The hub at /websub: queues a delivery per subscriber when a feed changes; its worker
    (started only where the scheduler runs) verifies and delivers."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.cache = SnapshotCache(db)
        # Requests to /websub per client: counted in this process (each web worker its own).
        self.limiter = RateLimiter(settings.websub_requests_per_minute)
        self.worker: HubWorker | None = None  # only in the process that runs the scheduler
        self.gate: DeliveryGate | None = None  # set by Services: deliveries wait for readers

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Regenerator listener: queue the new feed for its subscribers (rows only, no HTTP)."""
        now = self.clock.now()
        with self.db.reading() as session:
            if not store.has_subscribers(session, snapshot.key, now):
                return
        self.cache.put(snapshot)  # kept for feeds with subscribers only
        with self.db.writing() as session:
            store.enqueue(session, snapshot.key, snapshot.version, now)
        log.debug("websub: feed %s v%d queued", snapshot.key, snapshot.version)
        self.wake()

    def feed_exists(self, key: str) -> bool:
        """Whether ``key`` is a feed this service publishes (``all`` or a category)."""
        if key == feed_store.ALL:
            return True
        with self.db.reading() as session:
            return feed_store.get_category(session, key) is not None

    def start(self) -> None:
        """Start the worker in this process (once)."""
        if self.worker is None:
            # Built here, not in __init__: finding this host's own addresses (for the callback
            # checks) is only needed where requests to callbacks are made.
            policy = policy_for(self.settings.websub_allow_private, self.settings.bind)
            caller = Caller(policy, self.settings.websub_timeout_seconds)
            self.worker = HubWorker(
                self.db, self.settings, self.clock, caller, self.cache, self.gate
            )
        self.worker.start()

    def wake(self) -> None:
        """Let a running worker look at the queue now (other processes' workers poll)."""
        if self.worker is not None:
            self.worker.wake()

    def stop(self) -> None:
        """Stop the worker."""
        if self.worker is not None:
            self.worker.stop()


def build(settings: Settings, db: Database, clock: Clock) -> WebSubService | None:
    """The WebSub part the settings ask for, or None without a hub."""
    if settings.websub_hub is None:
        return None
    if settings.websub_hub == "self":
        return BuiltInHub(db, settings, clock)
    return ExternalHubNotifier(settings)


__all__ = ["BuiltInHub", "ExternalHubNotifier", "WebSubService", "build"]
