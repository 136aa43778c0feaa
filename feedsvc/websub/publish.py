"""Notifying an external hub (FEEDSVC_WEBSUB_HUB=<URL>) that feeds changed.

WebSub §6 leaves the publish call to the hub; the common one (and the interface's) is a form
POST of ``hub.mode=publish`` and ``hub.url=<FEED URL>``. One request per feed URL, from a
background thread, so regeneration never waits on the hub; a failure is logged, and the hub
hears of the feed again at its next change.
"""

from __future__ import annotations

import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode

from feedsvc.config import Settings
from feedsvc.publish.snapshot import Snapshot
from feedsvc.render import RENDERERS

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # feed URLs waiting; beyond that a notification is dropped (and logged)


class ExternalHubNotifier:
    """Tells the configured hub about every changed feed URL (each format's self URL)."""

    def __init__(self, settings: Settings, timeout: float | None = None) -> None:
        assert settings.websub_hub not in (None, "self")
        self.hub_url = str(settings.websub_hub)
        self.base_url = settings.base_url
        self.timeout = timeout or settings.websub_timeout_seconds
        self._queue: queue.Queue[str | None] = queue.Queue(QUEUE_LIMIT)
        self._waiting: set[str] = set()
        self._versions: dict[str, tuple[str, int]] = {}  # url -> (feed, newest version)
        # Set by Services when caches in front are purged: the hub, which fetches the feed when
        # told, must not find the cache's older copy (feedsvc.publish.purge).
        self.gate: Callable[[str, int], object] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Regenerator listener: queue a publish notification for each feed format."""
        self.start()
        for fmt in RENDERERS:
            url = f"{self.base_url}/feeds/{snapshot.key}.{fmt}"
            with self._lock:
                self._versions[url] = (snapshot.key, snapshot.version)
            self._put(url)

    def _put(self, url: str) -> None:
        with self._lock:
            if url in self._waiting:
                return  # already waiting: one notification covers both changes
            self._waiting.add(url)
        try:
            self._queue.put_nowait(url)
        except queue.Full:
            with self._lock:
                self._waiting.discard(url)
            log.warning("websub: publish queue full; hub not told about %s", url)

    def start(self) -> None:
        """Start the sending thread (once)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="websub-publish", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        """Nothing to do: the thread wakes on its queue."""

    def stop(self) -> None:
        """Send what is queued, then stop."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=self.timeout * 2 + 5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            url = self._queue.get()
            if url is None:
                return
            with self._lock:
                self._waiting.discard(url)
                feed = self._versions.get(url)
            if self.gate is not None and feed is not None:
                self.gate(*feed)  # bounded: purged, or given up
            self._publish(url)

    def _publish(self, url: str) -> None:
        """POST one publish notification; log a failure."""
        data = urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        request = urllib.request.Request(
            self.hub_url,
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(4096)
        except urllib.error.HTTPError as exc:
            self.failed += 1
            detail = exc.read(200).decode("utf-8", "replace")
            log.warning(
                "websub: hub %s answered %d to the publish of %s: %s",
                self.hub_url,
                exc.code,
                url,
                detail,
            )
            return
        except (OSError, ValueError) as exc:
            self.failed += 1
            log.warning("websub: hub %s not told about %s: %s", self.hub_url, url, exc)
            return
        self.sent += 1
        log.debug("websub: hub told about %s", url)
