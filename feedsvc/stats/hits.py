"""The hot path's share of the audience figures: one tuple appended to a per-process list.

:meth:`HitRecorder.record` reads four request headers and appends them, nothing else (no
parsing, no hashing, no lock: ``list.append`` and the drain's slice are each atomic under the
GIL). A background thread (:class:`feedsvc.stats.aggregate.StatsFlusher`) drains the list every
few seconds and does the rest off the request path. The list is capped: when the drain cannot
keep up, hits are dropped and counted, never queued without bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

# Hits held between two drains (a few seconds of a busy worker); beyond, hits are dropped.
BUFFER_LIMIT = 200_000


class Hit(NamedTuple):
    """One feed response as recorded: what the client sent, raw; resolved off the hot path."""

    path: str
    status: int
    peer: str | None  # REMOTE_ADDR
    forwarded: str | None  # X-Forwarded-For, believed only from trusted proxies when resolved
    user_agent: str | None
    validated: bool  # the request carried If-None-Match or If-Modified-Since


class HitRecorder:
    """A per-process buffer of feed responses; ``record`` is the hot path's hook."""

    __slots__ = ("buffer", "dropped", "limit")

    def __init__(self, limit: int = BUFFER_LIMIT) -> None:
        self.buffer: list[tuple[Any, ...]] = []
        self.limit = limit
        self.dropped = 0

    def record(self, environ: Mapping[str, Any], path: str, status: int) -> None:
        """Append one response (a tuple of what the request said); never raises."""
        buffer = self.buffer
        if len(buffer) < self.limit:
            buffer.append(
                (
                    path,
                    status,
                    environ.get("REMOTE_ADDR"),
                    environ.get("HTTP_X_FORWARDED_FOR"),
                    environ.get("HTTP_USER_AGENT"),
                    "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ,
                )
            )
        else:
            self.dropped += 1

    def drain(self) -> list[tuple[Any, ...]]:
        """Take every hit recorded so far (a request thread may append meanwhile: the slice and
        the delete each run under the GIL, and what was appended after the slice stays)."""
        buffer = self.buffer
        count = len(buffer)
        taken = buffer[:count]
        del buffer[:count]
        return taken  # each a Hit's fields, in its order
