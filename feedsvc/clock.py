"""The service's notion of now, replaceable in tests (embargoes, Last-Modified, leases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The system clock, aware and in UTC."""

    def now(self) -> datetime:
        """The current instant."""
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to: tests of embargoes and same-second changes."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new instant."""
        self.current += timedelta(seconds=seconds)
        return self.current
