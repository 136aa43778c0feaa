"""The four fuzz targets: each takes the fuzzer's bytes and asserts that the parser under test
raises nothing but its documented error type, and that what it accepts holds together.

Pure functions of bytes with no atheris in them, so tests/security/test_fuzz_corpus.py replays
every corpus file (seeds and past crashes) through them in the ordinary test suite; the
``fuzz_*.py`` scripts beside this file import it under atheris' instrumentation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from feedsvc.http.conditional import (
    MAX_ACCEPT_ENCODING,
    MAX_IF_NONE_MATCH,
    FieldTooLarge,
    accepts_gzip,
    format_http_date,
    is_not_modified,
    parse_http_date,
)
from feedsvc.ingest.records import RecordError, parse_article, parse_category
from feedsvc.ingest.strictjson import MAX_DEPTH, JSONError, loads_strict
from feedsvc.web.limits import MAX_QUERY_CHARS, LimitError, parse_limit

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Article fields, and values the structured mode picks from: near-valid ones reach the deep
# branches (dates, URLs, the image) far sooner than mutated JSON text does.
ARTICLE_FIELDS = (
    "id", "url", "title", "summary", "content_html", "author", "categories", "image",
    "published_at", "updated_at",
)  # fmt: skip
IMAGE_FIELDS = ("url", "caption", "mime_type", "length")
CATEGORY_FIELDS = ("slug", "name", "description")
SAMPLES: tuple[object, ...] = (
    None, True, 0, -1, 2**63 - 1, 2**63, 1.5, 1e308, "", " ", "bp-1", "thoi-su", "all",
    "https://www.bienphong.com.vn/a.html", "http://[::1]:80/x", "HTTPS://xn--bcher-kva.example/",
    "mailto:a@b.vn", "/relative.html", "2023-02-03T15:30:00+07:00", "2023-02-03 15:30",
    "2023-02-03T15:30:00.123456789Z", "9999-12-31T23:59:59-23:59", "1969-12-31T23:59:59Z",
    "2023-02-30T00:00:00Z", "image/jpeg", "image/svg+xml", "<p>a<a href='/x'>b</a></p>",
    "<img src='mailto:x'>", "<script>x</script><b>", "Biên phòng\x00\x85\ud800\ufffe",
    [], ["thoi-su", "thoi-su"], ["Bad Slug"], {}, {"url": "https://a.vn/p.jpg"},
)  # fmt: skip


class Provider:
    """Draws small values from the fuzzer's bytes (atheris' FuzzedDataProvider, without
    atheris, so that corpus files replay in plain pytest)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        """The next byte, 0 once the data is used up."""
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def below(self, n: int) -> int:
        """A number from 0 to n - 1 (n at most 65,536)."""
        return ((self.byte() << 8) | self.byte()) % n

    def text(self) -> str:
        """A string of up to 255 bytes, UTF-8 where it decodes, else code points 0-255."""
        size = self.byte()
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def value(self, depth: int = 0) -> object:
        """Any JSON value: a sample, new text, a number, or a list or object of more."""
        kind = self.below(8 if depth < 3 else 5)
        if kind in (0, 1):
            return SAMPLES[self.below(len(SAMPLES))]
        if kind == 2:
            return self.text()
        if kind == 3:
            return (self.below(65536) - 32768) * 10 ** self.below(25)
        if kind == 4:
            return self.below(65536) / (1 + self.below(65536)) * 10.0 ** (self.below(40) - 20)
        if kind == 5:
            return [self.value(depth + 1) for _ in range(self.below(4))]
        if kind == 6:
            return self.record(IMAGE_FIELDS, depth + 1)
        return self.record(ARTICLE_FIELDS + CATEGORY_FIELDS, depth + 1)

    def record(self, fields: tuple[str, ...], depth: int = 0) -> dict[str, object]:
        """An object whose keys are mostly the record's own fields."""
        count = self.below(len(fields) + 2)
        return {
            fields[self.below(len(fields))] if self.byte() < 240 else self.text(): self.value(depth)
            for _ in range(count)
        }


def _check_json_value(value: object) -> None:
    """What loads_strict accepted is JSON that it accepts again, equal, at no deeper nesting."""
    assert loads_strict(json.dumps(value, allow_nan=False, ensure_ascii=False)) == value
    assert loads_strict(json.dumps(value, allow_nan=False).encode("ascii")) == value


def check_strictjson(data: bytes) -> None:
    """loads_strict on any bytes (and on their text): a value or JSONError, nothing else."""
    try:
        value = loads_strict(data)
    except JSONError as exc:
        assert str(exc)  # every refusal says why
    else:
        _check_json_value(value)
        assert _depth(value) <= MAX_DEPTH
        # Strict JSON is a subset of JSON: json itself reads the same value from it.
        assert json.loads(data.decode("utf-8")) == value
    try:
        text = data.decode("latin-1")
        _check_json_value(loads_strict(text))
    except JSONError:
        pass


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def _check_record_error(exc: RecordError) -> None:
    """A rejection lists at least one error, each a field path and a message, bounded."""
    assert exc.errors and str(exc)
    assert len(exc.errors) <= 120, len(exc.errors)  # at most 100 categories, plus the rest
    for error in exc.errors:
        assert isinstance(error.field, str) and isinstance(error.message, str) and error.message
        assert len(error.message) < 2000, error.message  # values shown are cut at 80


def _check_article(raw: object) -> None:
    try:
        record = parse_article(raw, TZ)
    except RecordError as exc:
        _check_record_error(exc)
        return
    accepted = record.to_json()
    json.dumps(accepted, allow_nan=False)
    assert record.published_at.utcoffset() is not None
    # The normalised record, sent again, is accepted as the same record: an article the API
    # returned can be stored back unchanged. Not asserted of content_html: an HTML5 parser need
    # not give the same tree for its own serialisation (the root of mutation XSS), and nh3 is a
    # library we use, not code under test here; that it is accepted again is asserted.
    again = parse_article(loads_strict(json.dumps(accepted)), TZ)
    assert replace(again, content_html=record.content_html) == record


def _check_category(raw: object) -> None:
    try:
        record = parse_category(raw)
    except RecordError as exc:
        _check_record_error(exc)
        return
    assert parse_category(record.to_json()) == record


def check_records(data: bytes) -> None:
    """parse_article / parse_category on a decoded JSON value built from the bytes (even first
    byte) or on the rest of the bytes through loads_strict (odd first byte)."""
    if not data:
        return
    mode, rest = data[0], data[1:]
    check = _check_article if mode & 2 == 0 else _check_category
    if mode & 1:
        try:
            raw = loads_strict(rest)
        except JSONError:
            return
    else:
        provider = Provider(rest)
        raw = provider.record(ARTICLE_FIELDS if check is _check_article else CATEGORY_FIELDS)
    check(raw)


def check_conditional(data: bytes) -> None:
    """is_not_modified, parse_http_date and accepts_gzip on header values from the bytes
    (latin-1, as WSGI hands them over): a bool, or FieldTooLarge for an overlong
    If-None-Match, nothing else."""
    provider = Provider(data[:8])
    flags = provider.byte()
    # Last-Modified and the clock from 1970 to 2106: the range a feed's validators live in.
    last_modified = (provider.byte() << 24 | provider.below(65536) << 8 | provider.byte()) * 2
    now = last_modified + provider.below(65536) * provider.byte()
    parts = data[8:].decode("latin-1").split("\x00")
    parts += [""] * (4 - len(parts))
    etag = parts[3] or '"3f2a9c1d"'
    etag = "W/" + etag if flags & 8 else etag
    inm = parts[0] if flags & 1 else None
    ims = parts[1] if flags & 2 else None
    ae = parts[2] if flags & 4 else None
    if flags & 16 and inm is not None:
        inm = inm * (MAX_IF_NONE_MATCH // max(1, len(inm)) + 1)  # over the cap, sometimes
    try:
        result = is_not_modified(inm, ims, etag, last_modified, bool(flags & 32), now=now)
    except FieldTooLarge as exc:
        assert inm is not None and inm != etag and len(inm) > MAX_IF_NONE_MATCH
        assert exc.field == "If-None-Match" and str(exc)
    else:
        assert isinstance(result, bool)
        assert inm is None or len(inm) <= MAX_IF_NONE_MATCH or inm == etag
        if inm == etag:
            assert result
        if inm is None and (ims is None or parse_http_date(ims, now=now) is None):
            assert not result
    if ims is not None:
        date = parse_http_date(ims, now=now)
        if date is not None:
            assert parse_http_date(format_http_date(date)) == date
    gzip = _uncached(accepts_gzip)(ae)
    assert isinstance(gzip, bool)
    if ae is not None and len(ae) > MAX_ACCEPT_ENCODING:
        assert not gzip


def _uncached(function: Callable[[str | None], bool]) -> Callable[[str | None], bool]:
    """The parser itself when a cache wraps it: the fuzzer exercises parsing, not lookups."""
    return getattr(function, "__wrapped__", function)


def _reference_limit(query: str, max_items: int) -> int | None:
    """?limit as docs/interface.md defines it, by parse_qsl: the old code, its crash fixed."""
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "limit"]
    if not values:
        return None
    if len(values) > 1:
        raise LimitError("once")
    value = values[0]
    if len(value) > 4 or not re.fullmatch("[1-9][0-9]*", value) or int(value) > max_items:
        raise LimitError("range")
    return int(value)


def check_limit(data: bytes) -> None:
    """parse_limit on any query string (latin-1, as WSGI hands it over): None, 1 to max_items
    or LimitError, nothing else; and the same answer as parse_qsl would give."""
    if len(data) < 2:
        return
    max_items = 1 + ((data[0] << 8) | data[1]) % 1000  # FEEDSVC_FEED_ITEMS is 1-1000
    query = data[2:].decode("latin-1")
    if data[0] & 128:
        query = query * (MAX_QUERY_CHARS // max(1, len(query)) + 1)  # over the cap, sometimes
    try:
        limit: int | str | None = parse_limit(query, max_items)
    except LimitError as exc:
        assert str(exc)
        limit = "refused"
    else:
        assert limit is None or 1 <= limit <= max_items
    if len(query) > MAX_QUERY_CHARS:
        assert limit == "refused"
        return
    try:
        expected: int | str | None = _reference_limit(query, max_items)
    except LimitError:
        expected = "refused"
    assert limit == expected, (query, limit, expected)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "records": check_records,
    "strictjson": check_strictjson,
    "conditional": check_conditional,
    "limit": check_limit,
}
