"""``?limit=N``: the newest N items, spliced from a snapshot's item spans, cached per worker."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from urllib.parse import parse_qsl

from feedsvc.publish.snapshot import FormatEntry, Snapshot, make_entry

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
    """A bounded LRU of limited variants, keyed by feed, version, format and N.

    Bounded by bytes, not entries, since it counts toward a worker's memory target.
    """

    def __init__(self, max_bytes: int = 24 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
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
        if limited is entry:
            return entry
        with self._lock:
            if key not in self._entries:
                self._entries[key] = limited
                self.bytes += _size(limited)
            while self.bytes > self.max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= _size(evicted)
        return limited

    def __len__(self) -> int:
        return len(self._entries)


def _size(entry: FormatEntry) -> int:
    return len(entry.identity.body) + len(entry.gzip.body)


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
    body = b"".join(chunks)
    return make_entry(
        entry.fmt, entry.content_type, body, snapshot, None, links=entry.links, extra=entry.extra
    )
