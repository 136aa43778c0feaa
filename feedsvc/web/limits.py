"""``?limit=N``: the newest N items, spliced from a snapshot's item spans, cached per worker."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from urllib.parse import unquote

from feedsvc.publish.snapshot import FormatEntry, Snapshot, make_entry

LIMIT_RE = re.compile(r"[1-9][0-9]*")
# The raw value of each "&"-separated field whose name decodes to "limit" as parse_qsl decodes
# it (any letter may be percent-encoded; "+", a space, never belongs to it), matched in "&" +
# the query: one C-speed scan where parse_qsl built a Python pair per field (200 ms for a
# 400 KiB query of 200,000 empty fields).
_LIMIT_FIELD = re.compile(
    r"&(?:l|%6[Cc])(?:i|%69)(?:m|%6[Dd])(?:i|%69)(?:t|%74)(?:=([^&]*))?(?=&|\Z)"
)
# The request line a client can send through the shipped nginx (large_client_header_buffers);
# granian alone takes 400 KiB, and 16 MiB over HTTP/2.
MAX_QUERY_CHARS = 8192


class LimitError(ValueError):
    """A ``limit`` parameter that is not a whole number from 1 to the feed size."""


def parse_limit(query: str, max_items: int) -> int | None:
    """The ``limit`` of a query string, None when absent; LimitError when not valid or when the
    query is longer than MAX_QUERY_CHARS (the hot path asks only when it mentions "limit")."""
    if len(query) > MAX_QUERY_CHARS:
        raise LimitError(
            f"The query string is longer than {MAX_QUERY_CHARS} characters; send limit=N alone."
        )
    fields = _LIMIT_FIELD.finditer("&" + query)
    first = next(fields, None)
    if first is None:
        return None
    if next(fields, None) is not None:
        raise LimitError("Give 'limit' once.")
    value = unquote((first[1] or "").replace("+", " "))
    # More digits than max_items has cannot be in range: checked before int(), which refuses
    # 4300 digits and more with a ValueError (a 500) and is quadratic below that.
    if len(value) > len(str(max_items)) or not LIMIT_RE.fullmatch(value) or int(value) > max_items:
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
