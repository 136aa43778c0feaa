"""This instance's report on the database, for the hubs of every instance on it.

The report says up to which ``snapshots`` counter the instance serves every saved snapshot (the
board's ``reached``, moved by its workers as they load). It is rewritten at once when that moves
and every second otherwise, while a web worker of the instance stamps the board; when none does,
the report is removed, so that no hub waits for an instance that serves nothing. It runs in the
process that runs the built-in hub (``make serve``'s scheduler), on a thread of its own, and only
for a shared board: a process on its own (``make run``) reports nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.ops.periodic import ProcessThread
from feedsvc.publish.board import VersionBoard
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

TICK_SECONDS = 0.02  # how often the board is looked at (a read of shared memory)
REPORT_SECONDS = 1.0  # the report is rewritten at least this often
# A report older than this, or a board no worker stamped for this long: the instance is not
# waited for (stopped, or its workers are).
LIVE_SECONDS = 3.0
FORGET_SECONDS = 3600.0  # reports older than this are removed


class InstanceReporter(ProcessThread):
    """Writes this instance's report while its web workers are alive."""

    def __init__(
        self, board: VersionBoard, db: Database, clock: Clock, interval: float = TICK_SECONDS
    ) -> None:
        super().__init__("feedsvc-instance", self.report, interval)
        self.board = board
        self.db = db
        self.clock = clock
        self.host = f"{socket.gethostname()}:{os.getpid()}"
        self._sent: int | None = None  # the counter last reported; None: no report stands
        self._sent_at = 0.0
        self._forgot_at = 0.0
        self._ok = True

    def report(self) -> None:
        """Write the report if the counter moved or a second passed; remove it when no worker
        is alive. A database error is logged once, and the next tick tries again."""
        try:
            self._report()
        except Exception as exc:
            if self._ok:
                log.warning("instance: cannot report to the database, will retry: %s", exc)
            self._ok = False
            return
        if not self._ok:
            log.info("instance: reporting to the database again")
        self._ok = True

    def _report(self) -> None:
        now = time.monotonic()
        if not self.board.workers_alive(LIVE_SECONDS):
            if self._sent is not None:
                self._forget()
            return
        reached = self.board.reached
        if reached == self._sent and now - self._sent_at < REPORT_SECONDS:
            return
        with self.db.writing() as session:
            when = self.clock.now()
            store.report_instance(session, self.board.instance_id, self.host, reached, when)
            if now - self._forgot_at >= FORGET_SECONDS / 60:
                store.forget_instances_before(session, when - timedelta(seconds=FORGET_SECONDS))
                self._forgot_at = now
        self._sent, self._sent_at = reached, now

    def _forget(self) -> None:
        with self.db.writing() as session:
            store.forget_instance(session, self.board.instance_id)
        self._sent = None

    def stop(self) -> None:
        """Stop reporting and remove the report (best effort: the database may be away)."""
        was_running = self.running
        super().stop()
        if was_running and self._sent is not None:
            try:
                self._forget()
            except Exception as exc:
                log.debug("instance: report not removed: %s", exc)
