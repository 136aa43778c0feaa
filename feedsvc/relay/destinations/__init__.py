"""Where stories go: one class per kind, each with ``send(story) -> Outcome``.

An outcome says what the sender does next: the story is ``sent``; ``retry`` it later (after
the seconds the service asked for, or the backoff); ``drop`` it (the service refused this
story for good: logged); or ``pause`` the whole destination (quota spent, credentials refused:
logged with what to do), keeping every story for later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from feedsvc.clock import Clock
from feedsvc.relay.config import Destination
from feedsvc.relay.message import Story
from feedsvc.store.db import Database


@dataclass(frozen=True)
class Outcome:
    """What became of one send."""

    kind: str  # sent | retry | drop | pause
    reason: str = ""
    after: float | None = None  # retry: seconds asked for (None: backoff); pause: seconds


SENT = Outcome("sent")


def retry(reason: str, after: float | None = None) -> Outcome:
    return Outcome("retry", reason, after)


def drop(reason: str) -> Outcome:
    return Outcome("drop", reason)


def pause(reason: str, seconds: float) -> Outcome:
    return Outcome("pause", reason, seconds)


class Sender(Protocol):
    """One destination's way of sending a story."""

    def send(self, story: Story) -> Outcome: ...


def build(
    destination: Destination,
    db: Database,
    clock: Clock,
    timeout: float,
    keepers: dict[str, Any] | None = None,
) -> Sender:
    """The sender of a configured destination; ``keepers`` holds the Zalo token keepers of
    the process (one per app), shared by the destinations built with the same dict."""
    if destination.kind == "telegram":
        from feedsvc.relay.destinations.telegram import Telegram

        return Telegram(destination, timeout)
    if destination.kind == "zalo":
        from feedsvc.relay.destinations.zalo import Zalo

        return Zalo(destination, db, clock, timeout, keepers)
    from feedsvc.relay.destinations.webhook import Webhook

    return Webhook(destination, timeout)
