"""Snapshots: a feed's rendered variants with their ETags and response headers, prepared once.

A snapshot is built during regeneration, stored in the database as one bundle (so every worker
and instance serves identical bytes), and served from memory by :mod:`feedsvc.web.hotpath`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from isal import igzip, isal_zlib

from feedsvc.http.cache_policy import feed_keys, surrogate_fields
from feedsvc.http.conditional import format_http_date
from feedsvc.http.page_policy import legacy_page_headers

BUNDLE_MAGIC = b"FSNAP2\n"  # the gzip bodies only
BUNDLE_MAGIC_1 = b"FSNAP1\n"  # identity and gzip bodies, still readable
# ISA-L's level 3, its best: about 1 ms for a 256 kB feed where stdlib zlib's level 6 takes
# 11-18 ms, for gzip bodies about 13 % larger (docs/performance.md has the measurements).
GZIP_LEVEL = 3
# isal's stub declares isal_zlib.error an instance; at run time it is the exception class.
_INFLATE_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp, no name): the same bytes give the same ETag."""
    return igzip.compress(data, GZIP_LEVEL, mtime=0)


def strong_etag(body: bytes) -> str:
    """A strong entity-tag: a hash of exactly the bytes sent (RFC 9110 §8.8.3)."""
    # SHA-256 (128 bits of it): OpenSSL's runs on the CPU's SHA extensions, 1.4 GB/s here
    # against BLAKE2b's 0.6 GB/s, and a full regeneration hashes about 90 MB.
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


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
    links: tuple[str, ...] = ()  # Link values (WebSub hub and self), sent as one field
    # More headers of a 200 (a page's browser protections, http/page_policy.py); feeds have none.
    extra: tuple[tuple[str, str], ...] = ()


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
    # later regeneration can reuse them (feedsvc.publish.reuse); () when unknown.
    item_keys: tuple[str, ...] = ()
    # The Cache-Control value (http/cache_policy.py); "" in snapshots stored before it was kept:
    # "public, max-age=cache_max_age".
    cache_control: str = ""
    # The headers that carry the surrogate keys (Surrogate-Key, xkey, Cache-Tag); () for none.
    surrogate_headers: tuple[str, ...] = ()

    @property
    def cache_control_value(self) -> str:
        """The Cache-Control of every variant of this snapshot."""
        return self.cache_control or f"public, max-age={self.cache_max_age}"


def build_headers(
    content_type: str,
    body: bytes,
    etag: str,
    last_modified: int,
    cache_control: str,
    *,
    gzipped: bool,
    links: tuple[str, ...] = (),
    extra: tuple[tuple[str, str], ...] = (),
    surrogate: tuple[tuple[str, str], ...] = (),
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The header lists of a 200 and of a 304 for one variant (Date is added per response);
    no Last-Modified when ``last_modified`` is 0 (a page with nothing to date it by).
    ``extra`` ends the 200's (a 304 leaves a cache's stored copy of them as they are).
    ``surrogate`` (the surrogate-key fields) is in both: a cache revalidating keeps its keys."""
    common = [("ETag", etag)]
    if last_modified:
        common.append(("Last-Modified", format_http_date(last_modified)))
    common += [
        ("Cache-Control", cache_control),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if links:
        # One field holding both links, as deliveries send it (WebSub §7): clients that keep
        # headers in a dictionary keep only the last of repeated fields, losing the hub.
        common.append(("Link", ", ".join(links)))
    common.extend(surrogate)
    full = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if gzipped:
        full.append(("Content-Encoding", "gzip"))
    return tuple(full + common) + extra, tuple(common)


def make_variant(
    content_type: str,
    body: bytes,
    last_modified: int,
    cache_control: str,
    *,
    gzipped: bool,
    links: tuple[str, ...] = (),
    etag: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    surrogate: tuple[tuple[str, str], ...] = (),
) -> Variant:
    """Hash the bytes (unless the stored ETag is given) and prepare both header lists."""
    etag = etag or strong_etag(body)
    headers, headers_304 = build_headers(
        content_type,
        body,
        etag,
        last_modified,
        cache_control,
        gzipped=gzipped,
        links=links,
        extra=extra,
        surrogate=surrogate,
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
    extra: tuple[tuple[str, str], ...] = (),
) -> FormatEntry:
    """A format's identity and gzip variants (gzip and ETags computed unless given)."""
    gz = gzip_bytes(body) if gz is None else gz
    etag, gz_etag = etags or (None, None)
    args = (snapshot.last_modified, snapshot.cache_control_value)
    keys = surrogate_fields(snapshot.surrogate_headers, feed_keys(snapshot.key, fmt))
    return FormatEntry(
        fmt=fmt,
        content_type=content_type,
        identity=make_variant(
            content_type,
            body,
            *args,
            gzipped=False,
            links=links,
            etag=etag,
            extra=extra,
            surrogate=keys,
        ),
        gzip=make_variant(
            content_type,
            gz,
            *args,
            gzipped=True,
            links=links,
            etag=gz_etag,
            extra=extra,
            surrogate=keys,
        ),
        spans=spans,
        links=links,
        extra=extra,
    )


# --- the stored bundle: a JSON manifest, then the gzip bodies back to back ------------------------
#
# Only the gzip bodies are stored: a full regeneration writes about 100 feeds, and storing the
# identity bodies beside them wrote five times the bytes (about 0.9 MB a feed, the better part
# of a run's database time). The identity body is inflated again on load (about 0.3 ms for a
# 250 kB feed); its length and ETag are in the manifest, so a bad body is caught, never served.


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
        if entry.extra:
            formats[fmt]["extra"] = entry.extra
        bodies.append(entry.gzip.body)
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
    if snapshot.cache_control:
        manifest["cache_control"] = snapshot.cache_control
    if snapshot.surrogate_headers:
        manifest["surrogate_headers"] = snapshot.surrogate_headers
    head = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
    return BUNDLE_MAGIC + struct.pack(">I", len(head)) + head + b"".join(bodies)


def from_bundle(data: bytes) -> Snapshot:
    """Rebuild a snapshot (bytes, ETags, headers) from its stored bundle."""
    manifest, bodies = _read(data)
    snapshot = Snapshot(
        key=manifest["key"],
        version=manifest["version"],
        last_modified=manifest["last_modified"],
        lm_exact=manifest["lm_exact"],
        fingerprint=manifest["fingerprint"],
        cache_max_age=manifest["cache_max_age"],
        item_keys=tuple(manifest.get("item_keys", ())),
        cache_control=str(manifest.get("cache_control", "")),
        surrogate_headers=tuple(str(name) for name in manifest.get("surrogate_headers", ())),
    )
    for fmt, info, stored, gz in bodies:
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
            fmt,
            info["content_type"],
            _identity(info, stored, gz),
            snapshot,
            spans,
            gz,
            etags,
            links,
            _extra(info),
        )
    return snapshot


def _extra(info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A format's extra 200 headers, as stored; a page stored before pages had them gets the
    policy that needs nothing from its feed, until that feed is rendered again."""
    stored = info.get("extra")
    if stored is not None:
        return tuple((str(name), str(value)) for name, value in stored)
    if info["content_type"].startswith("text/html"):
        return legacy_page_headers()
    return ()


def bundle_items(data: bytes) -> dict[str, dict[str, bytes]]:
    """Format -> item key -> the item's identity bytes, read from a stored bundle.

    Only the manifest is parsed and only bodies with item spans are inflated: no headers, no
    hashing. Empty when the bundle predates item keys.
    """
    manifest, bodies = _read(data)
    keys = manifest.get("item_keys") or []
    found: dict[str, dict[str, bytes]] = {}
    for fmt, info, stored, gz in bodies:
        spans = info["spans"]
        if keys and spans is not None and len(spans["items"]) == len(keys):
            body = _identity(info, stored, gz)
            found[fmt] = {
                key: body[start:end] for key, (start, end) in zip(keys, spans["items"], strict=True)
            }
    return found


# A stored format: its name, its manifest entry, its identity body if stored, its gzip body.
StoredBodies = tuple[str, dict[str, Any], bytes | None, bytes]


def _read(data: bytes) -> tuple[dict[str, Any], list[StoredBodies]]:
    """The manifest of a bundle and its stored bodies; reads earlier versions' bundles too."""
    if data.startswith(BUNDLE_MAGIC):
        stores_identity = False
    elif data.startswith(BUNDLE_MAGIC_1):
        stores_identity = True  # FSNAP1 stored each identity body before its gzip body
    else:
        raise ValueError("not a feedsvc snapshot bundle")
    offset = len(BUNDLE_MAGIC)
    (head_len,) = struct.unpack_from(">I", data, offset)
    offset += 4
    manifest = json.loads(data[offset : offset + head_len])
    offset += head_len
    bodies: list[StoredBodies] = []
    for fmt, info in manifest["formats"].items():
        identity = None
        if stores_identity:
            identity = data[offset : offset + info["identity"]]
            offset += info["identity"]
        gz = data[offset : offset + info["gzip"]]
        offset += info["gzip"]
        bodies.append((fmt, info, identity, gz))
    return manifest, bodies


def _identity(info: dict[str, Any], stored: bytes | None, gz: bytes) -> bytes:
    """The identity body: as stored, or inflated from the gzip body and checked."""
    if stored is not None:
        return stored
    try:
        body = isal_zlib.decompress(gz, wbits=31)  # one gzip member, its CRC-32 checked
    except _INFLATE_ERROR as exc:
        raise ValueError(
            f"snapshot bundle: a gzip body does not inflate ({exc}); the stored snapshot is "
            "damaged (regenerate it)"
        ) from exc
    if len(body) != info["identity"]:
        raise ValueError(
            f"snapshot bundle: a gzip body inflates to {len(body)} bytes, the manifest says "
            f"{info['identity']}; the stored snapshot is damaged (regenerate it)"
        )
    return body
