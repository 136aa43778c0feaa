"""Snapshots: a feed's rendered variants with their ETags and response headers, prepared once.

A snapshot is built during regeneration, stored in the database as one bundle (so every worker
and instance serves identical bytes), and served from memory by :mod:`feedsvc.web.hotpath`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field

from isal import igzip

from feedsvc.web.conditional import format_http_date

BUNDLE_MAGIC = b"FSNAP1\n"
# ISA-L's level 3, its best: about 1 ms for a 256 kB feed where stdlib zlib's level 6 takes
# 11-18 ms, for gzip bodies about 13 % larger (README, Performance, has the measurements).
GZIP_LEVEL = 3


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp, no name): the same bytes give the same ETag."""
    return igzip.compress(data, GZIP_LEVEL, mtime=0)


def strong_etag(body: bytes) -> str:
    """A strong entity-tag: a hash of exactly the bytes sent (RFC 9110 §8.8.3)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@dataclass(frozen=True, slots=True)
class Variant:
    """One representation: its bytes, ETag, and header lists for 200 and 304 (all but Date)."""

    body: bytes
    etag: str
    headers: tuple[tuple[str, str], ...]
    headers_304: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ItemSpans:
    """Where the head, each item and the tail lie in the identity body (for ``?limit``)."""

    head_end: int
    items: tuple[tuple[int, int], ...]
    tail_start: int
    sep: bytes


@dataclass(frozen=True, slots=True)
class FormatEntry:
    fmt: str
    content_type: str
    identity: Variant
    gzip: Variant
    spans: ItemSpans | None = None
    links: tuple[str, ...] = ()  # Link header values (WebSub hub and self)


@dataclass(frozen=True)
class Snapshot:
    key: str
    version: int
    last_modified: int  # Unix seconds: Last-Modified
    lm_exact: bool  # False when the feed changed more than once within that second
    fingerprint: str
    cache_max_age: int
    formats: dict[str, FormatEntry] = field(default_factory=dict)
    # One key per item (newest first), naming exactly what its bytes were rendered from, so a
    # later regeneration can reuse them (feedsvc.regenerate); () when unknown.
    item_keys: tuple[str, ...] = ()


def build_headers(
    content_type: str,
    body: bytes,
    etag: str,
    last_modified: int,
    max_age: int,
    *,
    gzipped: bool,
    links: tuple[str, ...] = (),
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The header lists of a 200 and of a 304 for one variant (Date is added per response)."""
    common = [
        ("ETag", etag),
        ("Last-Modified", format_http_date(last_modified)),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    common += [("Link", link) for link in links]
    full = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if gzipped:
        full.append(("Content-Encoding", "gzip"))
    return tuple(full + common), tuple(common)


def make_variant(
    content_type: str,
    body: bytes,
    last_modified: int,
    max_age: int,
    *,
    gzipped: bool,
    links: tuple[str, ...] = (),
    etag: str | None = None,
) -> Variant:
    """Hash the bytes (unless the stored ETag is given) and prepare both header lists."""
    etag = etag or strong_etag(body)
    headers, headers_304 = build_headers(
        content_type, body, etag, last_modified, max_age, gzipped=gzipped, links=links
    )
    return Variant(body, etag, headers, headers_304)


def make_entry(
    fmt: str,
    content_type: str,
    body: bytes,
    snapshot: Snapshot,
    spans: ItemSpans | None,
    gz: bytes | None = None,
    etags: tuple[str, str] | None = None,
    links: tuple[str, ...] = (),
) -> FormatEntry:
    """A format's identity and gzip variants (gzip and ETags computed unless given)."""
    gz = gzip_bytes(body) if gz is None else gz
    etag, gz_etag = etags or (None, None)
    args = (snapshot.last_modified, snapshot.cache_max_age)
    return FormatEntry(
        fmt=fmt,
        content_type=content_type,
        identity=make_variant(content_type, body, *args, gzipped=False, links=links, etag=etag),
        gzip=make_variant(content_type, gz, *args, gzipped=True, links=links, etag=gz_etag),
        spans=spans,
        links=links,
    )


# --- the stored bundle: a JSON manifest, then every body back to back ---------------------------


def to_bundle(snapshot: Snapshot) -> bytes:
    """Serialise a snapshot for the database (no pickle: a manifest and raw bytes)."""
    bodies: list[bytes] = []
    formats = {}
    # Bodies follow the manifest's (sorted) order of formats.
    for fmt, entry in sorted(snapshot.formats.items()):
        spans = entry.spans
        formats[fmt] = {
            "content_type": entry.content_type,
            "identity": len(entry.identity.body),
            "gzip": len(entry.gzip.body),
            "etags": [entry.identity.etag, entry.gzip.etag],
            "links": entry.links,
            "spans": None
            if spans is None
            else {
                "head_end": spans.head_end,
                "items": spans.items,
                "tail_start": spans.tail_start,
                "sep": spans.sep.decode(),
            },
        }
        bodies += [entry.identity.body, entry.gzip.body]
    manifest = {
        "key": snapshot.key,
        "version": snapshot.version,
        "last_modified": snapshot.last_modified,
        "lm_exact": snapshot.lm_exact,
        "fingerprint": snapshot.fingerprint,
        "cache_max_age": snapshot.cache_max_age,
        "formats": formats,
        "item_keys": snapshot.item_keys,
    }
    head = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
    return BUNDLE_MAGIC + struct.pack(">I", len(head)) + head + b"".join(bodies)


def from_bundle(data: bytes) -> Snapshot:
    """Rebuild a snapshot (bytes, ETags, headers) from its stored bundle."""
    if not data.startswith(BUNDLE_MAGIC):
        raise ValueError("not a feedsvc snapshot bundle")
    offset = len(BUNDLE_MAGIC)
    (head_len,) = struct.unpack_from(">I", data, offset)
    offset += 4
    manifest = json.loads(data[offset : offset + head_len])
    offset += head_len
    snapshot = Snapshot(
        key=manifest["key"],
        version=manifest["version"],
        last_modified=manifest["last_modified"],
        lm_exact=manifest["lm_exact"],
        fingerprint=manifest["fingerprint"],
        cache_max_age=manifest["cache_max_age"],
        item_keys=tuple(manifest.get("item_keys", ())),
    )
    for fmt, info in manifest["formats"].items():
        body = data[offset : offset + info["identity"]]
        offset += info["identity"]
        gz = data[offset : offset + info["gzip"]]
        offset += info["gzip"]
        raw_spans = info["spans"]
        spans = (
            None
            if raw_spans is None
            else ItemSpans(
                head_end=raw_spans["head_end"],
                items=tuple((a, b) for a, b in raw_spans["items"]),
                tail_start=raw_spans["tail_start"],
                sep=raw_spans["sep"].encode(),
            )
        )
        etags = (info["etags"][0], info["etags"][1])
        links = tuple(info["links"])
        snapshot.formats[fmt] = make_entry(
            fmt, info["content_type"], body, snapshot, spans, gz, etags, links
        )
    return snapshot


def bundle_items(data: bytes) -> dict[str, dict[str, bytes]]:
    """Format -> item key -> the item's identity bytes, read from a stored bundle.

    Only the manifest is parsed and only item spans are copied: no headers, no gzip. Empty when
    the bundle predates item keys.
    """
    if not data.startswith(BUNDLE_MAGIC):
        raise ValueError("not a feedsvc snapshot bundle")
    offset = len(BUNDLE_MAGIC)
    (head_len,) = struct.unpack_from(">I", data, offset)
    offset += 4
    manifest = json.loads(data[offset : offset + head_len])
    offset += head_len
    keys = manifest.get("item_keys") or []
    found: dict[str, dict[str, bytes]] = {}
    for fmt, info in manifest["formats"].items():
        spans = info["spans"]
        if keys and spans is not None and len(spans["items"]) == len(keys):
            found[fmt] = {
                key: data[offset + start : offset + end]
                for key, (start, end) in zip(keys, spans["items"], strict=True)
            }
        offset += info["identity"] + info["gzip"]
    return found
