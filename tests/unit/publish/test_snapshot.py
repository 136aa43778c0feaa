"""Snapshots keep each format's extra 200 headers (a page's browser protections) through the
stored bundle; a page stored before pages had them gets the policy that needs nothing from its
feed; a feed has none, and its bundle and headers are as before."""

from __future__ import annotations

import json
import struct

from feedsvc.http.cache_policy import CachePolicy
from feedsvc.http.page_policy import legacy_page_headers, page_headers
from feedsvc.publish.assemble import Body, complete
from feedsvc.publish.snapshot import BUNDLE_MAGIC, Snapshot, from_bundle, to_bundle

PAGE = b"<!doctype html><title>x</title>"
FEED = b"<rss></rss>"
PROTECTIONS = page_headers("https://rss.example", ["https://img.example/1.jpg"])


def snapshot() -> Snapshot:
    bare = Snapshot("thoi-su", 3, 1_700_000_000, True, "fp", 60)
    return complete(
        bare,
        [
            Body("rss", "application/rss+xml; charset=utf-8", FEED, None),
            Body("html", "text/html; charset=utf-8", PAGE, None, (), PROTECTIONS),
        ],
    )


def manifest(bundle: bytes) -> dict[str, dict[str, object]]:
    (length,) = struct.unpack_from(">I", bundle, len(BUNDLE_MAGIC))
    start = len(BUNDLE_MAGIC) + 4
    return json.loads(bundle[start : start + length])["formats"]  # type: ignore[no-any-return]


def test_a_page_carries_its_protections_on_200_only() -> None:
    page = snapshot().formats["html"]
    for variant in (page.identity, page.gzip):
        assert variant.headers[-len(PROTECTIONS) :] == PROTECTIONS
        assert not set(PROTECTIONS) & set(variant.headers_304)
    feed = snapshot().formats["rss"]
    assert [name for name, _ in feed.identity.headers] == [
        "Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control", "Vary",
        "X-Content-Type-Options",
    ]  # fmt: skip


def test_the_bundle_keeps_them() -> None:
    original = snapshot()
    bundle = to_bundle(original)
    formats = manifest(bundle)
    assert "extra" not in formats["rss"]  # a feed's stored manifest is as it was
    loaded = from_bundle(bundle)
    for fmt in ("rss", "html"):
        for name in ("identity", "gzip"):
            assert getattr(loaded.formats[fmt], name) == getattr(original.formats[fmt], name)


def test_a_page_stored_before_gets_the_legacy_policy() -> None:
    bundle = to_bundle(snapshot())
    (length,) = struct.unpack_from(">I", bundle, len(BUNDLE_MAGIC))
    start = len(BUNDLE_MAGIC) + 4
    head = json.loads(bundle[start : start + length])
    del head["formats"]["html"]["extra"]  # as every page was stored before
    encoded = json.dumps(head, ensure_ascii=False, sort_keys=True).encode()
    old = BUNDLE_MAGIC + struct.pack(">I", len(encoded)) + encoded + bundle[start + length :]
    loaded = from_bundle(old)
    assert loaded.formats["html"].identity.headers[-2:] == legacy_page_headers()[-2:]
    assert (
        dict(loaded.formats["html"].identity.headers)["Content-Security-Policy"]
        == dict(legacy_page_headers())["Content-Security-Policy"]
    )
    assert loaded.formats["rss"].identity == snapshot().formats["rss"].identity


def test_shared_cache_headers_survive_the_bundle_and_older_bundles_keep_max_age_alone() -> None:
    policy = CachePolicy(
        shared_max_age=1,
        stale_while_revalidate=30,
        stale_if_error=600,
        surrogate_headers=("Surrogate-Key", "Cache-Tag"),
    )
    bare = Snapshot(
        "thoi-su", 3, 1_700_000_000, True, "fp", 60,
        cache_control=policy.cache_control(60), surrogate_headers=policy.surrogate_headers,
    )  # fmt: skip
    made = complete(bare, [Body("rss", "application/rss+xml; charset=utf-8", FEED, None)])
    expected = {
        "Cache-Control": "public, max-age=60, s-maxage=1, stale-while-revalidate=30, "
        "stale-if-error=600",
        "Surrogate-Key": "feedsvc feed.thoi-su feed.thoi-su.rss format.rss",
        "Cache-Tag": "feedsvc,feed.thoi-su,feed.thoi-su.rss,format.rss",
    }
    for snap in (made, from_bundle(to_bundle(made))):
        for variant in (snap.formats["rss"].identity, snap.formats["rss"].gzip):
            for headers in (variant.headers, variant.headers_304):
                assert {k: v for k, v in headers if k in expected} == expected
    # A bundle stored before these fields: the interface's Cache-Control alone, no keys.
    old = complete(Snapshot("thoi-su", 3, 1_700_000_000, True, "fp", 60), [
        Body("rss", "application/rss+xml; charset=utf-8", FEED, None)
    ])  # fmt: skip
    headers = dict(from_bundle(to_bundle(old)).formats["rss"].identity.headers)
    assert headers["Cache-Control"] == "public, max-age=60"
    assert not {"Surrogate-Key", "xkey", "Cache-Tag"} & set(headers)
