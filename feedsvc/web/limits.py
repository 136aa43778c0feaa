"""``?limit=N``: the newest N items, spliced from a snapshot's item spans, cached per worker."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from urllib.parse import parse_qsl

from feedsvc.snapshot import FormatEntry, Snapshot, make_entry

LIMIT_RE = re.compile(r"[1-9][0-9]*")


class LimitError(ValueError):
    """A ``limit`` parameter that is not a whole number from 1 to the feed size."""


def parse_limit(query: str, max_items: int) -> int | None:
    """The ``limit`` of a query string, None when absent; LimitError when not valid."""
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "limit"]
    if not values:
        return None
    if len(values) > 1:
        raise LimitError("Give 'limit' once.")
    value = values[0]
    if not LIMIT_RE.fullmatch(value) or int(value) > max_items:
        raise LimitError(f"'limit' must be a whole number from 1 to {max_items}, e.g. limit=10.")
    return int(value)


class LimitCache:
    """A bounded LRU of limited variants, keyed by feed, version, format and N."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int, str, int], FormatEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snapshot: Snapshot, entry: FormatEntry, limit: int) -> FormatEntry:
        """The limited variant, built (and gzipped) once per snapshot version."""
        key = (snapshot.key, snapshot.version, entry.fmt, limit)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        limited = splice(snapshot, entry, limit)
        with self._lock:
            self._entries[key] = limited
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return limited

    def __len__(self) -> int:
        return len(self._entries)


def splice(snapshot: Snapshot, entry: FormatEntry, limit: int) -> FormatEntry:
    """Head, the first ``limit`` items and the tail of a feed, as a variant of its own."""
    spans = entry.spans
    if spans is None or limit >= len(spans.items):
        return entry
    body = entry.identity.body
    view = memoryview(body)
    chunks = [view[: spans.head_end]]
    for i, (start, end) in enumerate(spans.items[:limit]):
        if i:
            chunks.append(memoryview(spans.sep))
        chunks.append(view[start:end])
    chunks.append(view[spans.tail_start :])
    return make_entry(
        entry.fmt, entry.content_type, b"".join(chunks), snapshot, None, links=entry.links
    )
