"""``feedsvc stats ingest-log``: the cache's access log as the source of the audience figures.

Behind the shipped nginx the origin sees only cache misses and revalidations, so the cache's
access log is read instead, one JSON object a line. nginx writes it with the ``feedsvc_json``
format of deploy/nginx/feedsvc-stats.conf; Varnish's ``varnishncsa -j -F`` with the same keys
(docs/stats.md gives the line). The keys read:

``time``   ISO 8601 with an offset (nginx ``$time_iso8601``) — the day the hit counts for
``addr``   the client's address (``$remote_addr``)
``method`` ``GET`` or ``HEAD``; other methods are skipped
``uri``    the path without query (``$uri``)
``status`` the status sent to the client (a number, or its digits as text)
``ua``     User-Agent; ``inm``/``ims``: If-None-Match / If-Modified-Since as sent

A missing header is ``""`` (nginx) or ``-`` (varnishncsa). Lines feed the same
:class:`feedsvc.stats.aggregate.Aggregator` as the hot path, and are written the same way.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from feedsvc.stats.service import AudienceStats

MAX_LINE = 64 * 1024
WRITE_EVERY_LINES = 50_000
WRITE_EVERY_SECONDS = 5.0
_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class IngestResult:
    """What one run read: lines counted as feed hits, lines skipped (not a feed response, or
    another method), and malformed lines (with the first few line numbers)."""

    counted: int = 0
    skipped: int = 0
    malformed: int = 0
    first_malformed: tuple[int, ...] = ()


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or value in ("", "-"):
        return None
    return value


def parse_line(line: bytes | str) -> tuple[datetime, str, int, str, str | None, bool, str]:
    """One log line as (time, path, status, address, User-Agent, validated, method); raises
    ValueError when it is not such a line."""
    try:
        raw = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    when = datetime.fromisoformat(str(raw.get("time", "")))
    if when.tzinfo is None:
        raise ValueError("time without an offset")
    status = int(str(raw.get("status", "")))
    path = str(raw.get("uri", "")).partition("?")[0]
    method = str(raw.get("method", "GET"))
    validated = _text(raw.get("inm")) is not None or _text(raw.get("ims")) is not None
    address = str(raw.get("addr", ""))
    return when, path, status, address, _text(raw.get("ua")), validated, method


def ingest(lines: Iterable[bytes], stats: AudienceStats, result: IngestResult) -> IngestResult:
    """Aggregate ``lines`` (numbered from the result's count so far), writing every
    WRITE_EVERY_LINES lines or WRITE_EVERY_SECONDS, and once at the end."""
    number = result.counted + result.skipped + result.malformed
    last_write = time.monotonic()
    pending = 0
    for line in lines:
        if line.strip():  # a blank line (follow() yields b"" when idle): only the timer
            number += 1
            pending += _count(line, number, stats, result)
        if pending and (
            pending >= WRITE_EVERY_LINES or time.monotonic() - last_write >= WRITE_EVERY_SECONDS
        ):
            stats.write()
            pending, last_write = 0, time.monotonic()
    if stats.write() or result.counted:
        stats.prune(stats.clock.now())
    return result


def _count(line: bytes, number: int, stats: AudienceStats, result: IngestResult) -> int:
    """Aggregate line ``number`` into ``stats`` and tell ``result``; 1 when it counted."""
    try:
        when, path, status, address, agent, validated, method = parse_line(line[:MAX_LINE])
    except (ValueError, TypeError):
        result.malformed += 1
        if len(result.first_malformed) < 5:
            result.first_malformed += (number,)
        return 0
    if method not in _METHODS or not stats.aggregator.add(
        stats.day_of(when), path, status, address, agent, validated, when
    ):
        result.skipped += 1
        return 0
    result.counted += 1
    return 1


def follow(path: str, stop: Callable[[], bool], poll: float = 0.5) -> Iterator[bytes]:
    """The lines appended to ``path`` from its end on, as ``tail -F`` does: a rotated file
    (another inode) or a truncated one is reopened from its start. Yields ``b""`` when idle,
    so the caller can write what it has."""
    stream: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below, or when rotated
    stream.seek(0, os.SEEK_END)
    partial = b""
    try:
        while not stop():
            chunk = stream.readline(MAX_LINE)
            if chunk:
                partial += chunk
                if partial.endswith(b"\n") or len(partial) >= MAX_LINE:
                    yield partial
                    partial = b""
                continue
            yield b""
            time.sleep(poll)
            stream = _reopened(path, stream)
    finally:
        stream.close()


def _reopened(path: str, stream: IO[bytes]) -> IO[bytes]:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return stream  # rotated, the new file not there yet
    mine = os.fstat(stream.fileno())
    if current.st_ino != mine.st_ino or current.st_size < stream.tell():
        stream.close()
        return open(path, "rb")  # noqa: SIM115 - the caller's loop closes it
    return stream
