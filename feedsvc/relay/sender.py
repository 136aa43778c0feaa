"""One thread per destination: takes its due outbox rows one at a time, oldest story first,
keeps its pace, sends, and records what became of each send."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from feedsvc.clock import Clock
from feedsvc.relay import outbox
from feedsvc.relay.destinations import Outcome, Sender, retry
from feedsvc.store.db import DB_UNAVAILABLE, Database

log = logging.getLogger(__name__)
MAX_BACKOFF = 600.0
IDLE = 1.0  # longest sleep with nothing due: rows from another process are seen this late


class DestinationWorker:
    """Sends one destination's stories, one at a time."""

    def __init__(
        self,
        name: str,
        sender: Sender,
        db: Database,
        clock: Clock,
        *,
        pace_seconds: float,
        backoff_seconds: float,
        max_attempts: int,
        stop: threading.Event,
    ) -> None:
        self.name, self.sender, self.db, self.clock = name, sender, db, clock
        self.pace, self.backoff, self.max_attempts = pace_seconds, backoff_seconds, max_attempts
        self.stop = stop
        self.wake = threading.Event()
        self.paused_until = 0.0  # time.monotonic()
        self.last_send = float("-inf")
        self.thread = threading.Thread(target=self._run, name=f"relay-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.step():
                    self._idle()
            except DB_UNAVAILABLE as exc:
                log.warning("relay: %s: database unavailable (%s); retrying", self.name, exc)
                self.stop.wait(1.0)
            except Exception:  # a bug must not end the destination: logged, then go on
                log.exception("relay: %s: unexpected error", self.name)
                self.stop.wait(1.0)

    def step(self) -> bool:
        """Send the next due story, if any; whether one was taken."""
        wait = max(
            self.paused_until - time.monotonic(), self.last_send + self.pace - time.monotonic()
        )
        if wait > 0:
            self.stop.wait(wait)
            if self.stop.is_set():
                return True
        with self.db.writing() as session:
            claimed = outbox.claim_next(session, self.name, self.clock.now())
        if claimed is None:
            return False
        try:
            outcome = self.sender.send(claimed.story)
        except Exception as exc:  # a sender's bug: the story is kept and retried
            log.exception("relay: %s: sending %s failed", self.name, claimed.story.id)
            outcome = retry(f"{type(exc).__name__}: {exc}")
        self.last_send = time.monotonic()
        self._record(claimed, outcome)
        return True

    def _record(self, claimed: outbox.Claimed, outcome: Outcome) -> None:
        now = self.clock.now()
        story = claimed.story.id
        with self.db.writing() as session:
            if outcome.kind == "sent":
                outbox.mark_sent(session, claimed.id, now)
                log.info("relay: %s: sent %s", self.name, story)
            elif outcome.kind == "drop":
                outbox.mark_failed(session, claimed.id, outcome.reason)
                log.error("relay: %s: dropped %s: %s", self.name, story, outcome.reason)
            elif outcome.kind == "pause":
                seconds = outcome.after or 60.0
                until = now + timedelta(seconds=seconds)
                outbox.mark_retry(session, claimed.id, until, outcome.reason, count=False)
                outbox.hold_destination(session, self.name, until, outcome.reason)
                self.paused_until = time.monotonic() + seconds
                log.error("relay: %s: paused %.0f s: %s", self.name, seconds, outcome.reason)
            elif claimed.attempt >= self.max_attempts:
                outbox.mark_failed(session, claimed.id, outcome.reason)
                log.error(
                    "relay: %s: gave up on %s after %d attempts: %s",
                    self.name,
                    story,
                    claimed.attempt,
                    outcome.reason,
                )
            else:
                backoff = min(MAX_BACKOFF, self.backoff * 2 ** (claimed.attempt - 1))
                delay = backoff if outcome.after is None else outcome.after
                outbox.mark_retry(
                    session, claimed.id, now + timedelta(seconds=delay), outcome.reason
                )
                if outcome.after:
                    # The service asked for a pause (429 retry_after): nothing else goes first.
                    self.paused_until = time.monotonic() + delay
                log.warning(
                    "relay: %s: %s again in %.1f s: %s", self.name, story, delay, outcome.reason
                )

    def _idle(self) -> None:
        """Sleep until the next row is due, a new row is announced, or IDLE seconds."""
        try:
            with self.db.reading() as session:
                due = outbox.next_due(session, self.name)
        except DB_UNAVAILABLE:
            due = None
        timeout = IDLE
        if due is not None:
            timeout = min(IDLE, max(0.0, (due - self.clock.now()).total_seconds()))
        if timeout > 0:
            self.wake.wait(timeout)
        self.wake.clear()
