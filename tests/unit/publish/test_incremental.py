"""The fast paths behave exactly like the slow ones: spliced regeneration, stored item bytes,
gzip."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from lxml import etree

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.ingest.store_records import delete_article, store_articles, store_category
from feedsvc.publish.assemble import complete, render_bodies
from feedsvc.publish.feed_builder import build_feed
from feedsvc.publish.plan import FeedPlan, new_snapshot
from feedsvc.publish.reuse import RunItems, item_keys
from feedsvc.publish.snapshot import Snapshot, bundle_items, from_bundle, gzip_bytes, to_bundle
from feedsvc.render import RENDERERS

from tests.helpers.app import article, category, services


def _stored(app: Flask) -> dict[str, Snapshot]:
    s = services(app)
    with s.db.reading() as session:
        return {
            key: from_bundle(row.bundle)
            for key in store.feed_keys(session)
            if (row := store.get_snapshot(session, key)) is not None
        }


def _rendered_whole(app: Flask, snapshot: Snapshot) -> Snapshot:
    """The same feed rendered from scratch, nothing reused."""
    s = services(app)
    with s.db.reading() as session:
        key = snapshot.key
        cat = None if key == store.ALL else store.get_category(session, key)
        names = {c.slug: c.name for c in store.list_categories(session)}
        articles = store.visible_article_rows(session, key, s.clock.now(), s.settings.feed_items)
        lm = datetime.fromtimestamp(snapshot.last_modified, UTC)
        feed = build_feed(s.settings, key, cat, articles, names, lm)
    whole = new_snapshot(
        feed, key, snapshot.version, snapshot.fingerprint, lm=snapshot.last_modified, exact=True
    )
    # No previous items and a new run's empty cache: every item is rendered.
    plan = FeedPlan(key, 0, feed, whole, previous_version=None, previous_items={})
    return complete(whole, render_bodies(plan, RunItems()))


def _assert_parses(fmt: str, body: bytes) -> None:
    if fmt == "json":
        assert isinstance(json.loads(body)["items"], list)
    elif fmt in RENDERERS:
        etree.fromstring(body)


NEW_AT = "2026-11-20T09:30:00+07:00"  # before the test clock: visible at once
EDITS: dict[str, Any] = {
    "new article": lambda s: store_articles(
        s.db, s.settings, s.clock, [article("n1", "kinh-te", published_at=NEW_AT)]
    ),
    "edited article": lambda s: store_articles(
        s.db, s.settings, s.clock, [article("a2", "thoi-su", "kinh-te", title="Sửa: tin a2")]
    ),
    "moved article": lambda s: store_articles(
        s.db, s.settings, s.clock, [article("a1", "quoc-phong-an-ninh")]
    ),
    "deleted article": lambda s: delete_article(s.db, s.clock, "a3"),
    "renamed category": lambda s: store_category(
        s.db, s.clock, category("kinh-te", "Kinh tế - Tài chính")
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_spliced_regeneration_equals_a_whole_render(
    newsroom: Flask, clock: FrozenClock, edit: str
) -> None:
    s = services(newsroom)
    clock.advance(60)
    EDITS[edit](s)
    result = s.regenerator.run()
    assert result.ok and result.rendered, result
    for key, snapshot in _stored(newsroom).items():
        whole = _rendered_whole(newsroom, snapshot)
        assert snapshot.item_keys == whole.item_keys, key
        for fmt, entry in whole.formats.items():
            spliced = snapshot.formats[fmt]
            assert spliced.identity.body == entry.identity.body, (key, fmt)
            assert gzip.decompress(spliced.gzip.body) == entry.identity.body, (key, fmt)
            _assert_parses(fmt, spliced.identity.body)


def test_one_new_article_renders_one_item_per_feed(
    newsroom: Flask, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services(newsroom)
    rendered: list[tuple[str, int]] = []
    for fmt, renderer in RENDERERS.items():
        real = renderer.render_parts

        def counting(feed: Any, real: Any = real, fmt: str = fmt) -> Any:
            rendered.append((fmt, len(feed.items)))
            return real(feed)

        monkeypatch.setattr(renderer, "render_parts", counting)
    clock.advance(60)
    EDITS["new article"](s)
    result = s.regenerator.run()
    assert sorted(result.rendered) == ["all", "kinh-te"]
    # The new article is rendered once per format, in its first feed; the second reuses it.
    assert sorted(rendered) == sorted([(fmt, n) for fmt in RENDERERS for n in (1, 0)])


def test_force_rerenders_nothing_but_heads(newsroom: Flask, clock: FrozenClock) -> None:
    s = services(newsroom)
    before = _stored(newsroom)
    clock.advance(60)
    result = s.regenerator.run(force=True)
    assert sorted(result.rendered) == sorted(before)
    for key, snapshot in _stored(newsroom).items():
        old = before[key]
        assert snapshot.version == old.version + 1
        assert snapshot.item_keys == old.item_keys
        for fmt in RENDERERS:
            body = snapshot.formats[fmt].identity.body
            spans = snapshot.formats[fmt].spans
            assert spans is not None
            items = [body[a:b] for a, b in spans.items]
            old_body = old.formats[fmt].identity.body
            assert items == [old_body[a:b] for a, b in old.formats[fmt].spans.items]  # type: ignore[union-attr]


def test_bundle_items_are_the_served_items(newsroom: Flask) -> None:
    snapshot = _stored(newsroom)["thoi-su"]
    found = bundle_items(to_bundle(snapshot))
    assert sorted(found) == sorted(RENDERERS)
    for fmt, items in found.items():
        entry = snapshot.formats[fmt]
        assert entry.spans is not None
        body = entry.identity.body
        assert list(items) == list(snapshot.item_keys)
        assert list(items.values()) == [body[a:b] for a, b in entry.spans.items]


def test_a_bundle_without_item_keys_means_a_whole_render(newsroom: Flask) -> None:
    snapshot = _stored(newsroom)["thoi-su"]
    bare = Snapshot(
        key=snapshot.key,
        version=snapshot.version,
        last_modified=snapshot.last_modified,
        lm_exact=snapshot.lm_exact,
        fingerprint=snapshot.fingerprint,
        cache_max_age=snapshot.cache_max_age,
        formats=snapshot.formats,
    )
    assert bundle_items(to_bundle(bare)) == {}
    assert from_bundle(to_bundle(bare)).item_keys == ()


def test_item_keys_follow_settings_but_not_the_feed(newsroom: Flask) -> None:
    s = services(newsroom)
    with s.db.reading() as session:
        articles = store.visible_article_rows(session, "all", s.clock.now(), 50)
        names = {c.slug: c.name for c in store.list_categories(session)}
        thoi_su = store.get_category(session, "thoi-su")
    lm = s.clock.now()
    everything = build_feed(s.settings, "all", None, articles, names, lm)
    one = build_feed(s.settings, "thoi-su", thoi_su, articles[:1], names, lm)
    assert item_keys(one) == item_keys(everything)[:1]
    moved = build_feed(
        dataclasses.replace(s.settings, base_url="http://elsewhere.test"),
        "all", None, articles, names, lm,
    )  # fmt: skip
    assert item_keys(moved)[0] != item_keys(everything)[0]


def test_a_stored_items_key_follows_its_record_and_category_names(
    newsroom: Flask, clock: FrozenClock
) -> None:
    """Items built from the store are keyed by their record's digest, not their 5 kB of text:
    any edit of the record, or a renamed category, must still give a new key."""
    s = services(newsroom)

    def key_of(article_id: str, names: dict[str, str] | None = None) -> str:
        with s.db.reading() as session:
            found = store.visible_article_rows(session, "all", s.clock.now(), 500)
            stored = {c.slug: c.name for c in store.list_categories(session)}
            (row,) = [a for a in found if a.id == article_id]
        feed = build_feed(s.settings, "all", None, [row], names or stored, s.clock.now())
        digest = feed.items[0].record_digest  # the record's, and the time of its correction
        assert digest is not None and digest.startswith(row.record_hash)
        return item_keys(feed)[0]

    record = article("key-probe", "thoi-su")
    assert not store_articles(s.db, s.settings, s.clock, [record]).rejected
    first = key_of("key-probe")
    clock.advance(1)
    store_articles(s.db, s.settings, s.clock, [record])  # an identical repeat: not rewritten
    assert key_of("key-probe") == first
    assert key_of("key-probe", {"thoi-su": "Thời sự mới"}) != first
    for field, value in [("title", "Tiêu đề khác"), ("summary", "Khác."), ("author", "B")]:
        clock.advance(1)
        store_articles(s.db, s.settings, s.clock, [{**record, field: value}])
        assert key_of("key-probe") != first, field
        first = key_of("key-probe")


@pytest.mark.parametrize("size", [0, 1, 1000, 256 * 1024])
def test_gzip_is_deterministic_standard_gzip(size: int) -> None:
    data = os.urandom(size // 2).hex().encode()[:size] + b"<item>" * (size // 64)
    packed = gzip_bytes(data)
    assert packed == gzip_bytes(data)
    assert gzip.decompress(packed) == data
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as reader:
        assert reader.read() == data
    assert packed[4:8] == b"\0\0\0\0"  # MTIME 0 (RFC 1952 §2.3.1): no timestamp in the ETag
