"""A daemon thread that calls a function every few seconds in the process that started it.

Web workers are forked after the app is made, and threads do not survive a fork: each one is
started in the process that runs it, and a forked child starts its own (the snapshot watcher and
the metrics flusher both work this way).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ProcessThread:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread of this process."""

    def __init__(self, name: str, tick: Callable[[], None], interval: float) -> None:
        self.name = name
        self.tick = tick
        self.interval = interval
        self._pid: int | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread was started in this process (not in a parent before a fork)."""
        return self._pid == os.getpid()

    def start(self, before: Callable[[], None] | None = None) -> None:
        """Start the thread unless it runs in this process; ``before`` runs first, once."""
        if self.running:
            return
        with self._lock:
            if self.running:
                return
            if before is not None:
                before()
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the thread (waiting briefly for a tick in progress)."""
        self._stop.set()
        if self._thread is not None and self.running:
            self._thread.join(timeout=5)
        self._thread = None
        self._pid = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("%s: a periodic call failed; the next one follows", self.name)
