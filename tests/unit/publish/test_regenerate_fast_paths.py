"""Regeneration's fast paths store exactly what the plain ones would: Core rows equal to ORM
objects, saving on a second thread, gzip-only bundles, cheaper item keys."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.ingest.store_records import store_articles
from feedsvc.publish.feed_builder import build_feed
from feedsvc.publish.renderpool import RenderError, RenderPool
from feedsvc.publish.reuse import item_keys
from feedsvc.publish.snapshot import BUNDLE_MAGIC_1, Snapshot, bundle_items, from_bundle, to_bundle
from feedsvc.render import RENDERERS
from feedsvc.render.feed import CategoryRef, Image, Item
from feedsvc.store.models import Article, ArticleCategory

from tests.helpers.app import article, services


@pytest.fixture
def demo_data(app: Flask, runner: FlaskCliRunner) -> Flask:
    """The demo newsroom (8 categories, 300+ articles), nothing rendered yet."""
    assert runner.invoke(args=["demo-data"]).exit_code == 0
    return app


def stored(app: Flask) -> dict[str, Snapshot]:
    s = services(app)
    with s.db.reading() as session:
        keys = store.feed_keys(session)
        return {key: from_bundle(b) for key in keys if (b := store.snapshot_bundle(session, key))}


def bodies(snapshots: dict[str, Snapshot]) -> dict[tuple[str, str], tuple[bytes, bytes, str]]:
    return {
        (key, fmt): (entry.identity.body, entry.gzip.body, entry.identity.etag)
        for key, snapshot in snapshots.items()
        for fmt, entry in snapshot.formats.items()
    }


# --- reading rows ------------------------------------------------------------------------------


def orm_articles(session: Session, key: str, now: datetime, limit: int) -> list[Article]:
    """The newest ``limit`` visible articles of a feed, read plainly through the ORM: the
    reference the store's Core read (two prepared statements, no ORM objects) must match."""
    if key == store.ALL:
        stmt = (
            select(Article)
            .where(Article.deleted_at.is_(None), Article.published_at <= now)
            .order_by(Article.published_at.desc(), Article.id.desc())
        )
    else:
        link = ArticleCategory
        ids = (
            select(link.article_id)
            .where(link.category_slug == key, link.deleted.is_(False), link.published_at <= now)
            .order_by(link.published_at.desc(), link.article_id.desc())
            .limit(limit)
        )
        stmt = (
            select(Article)
            .where(Article.id.in_(ids))
            .order_by(Article.published_at.desc(), Article.id.desc())
        )
    stmt = stmt.limit(limit).options(selectinload(Article.links))
    return list(session.scalars(stmt))


def test_article_rows_are_the_orm_articles(demo_data: Flask) -> None:
    s = services(demo_data)
    now = s.clock.now()
    with s.db.reading() as session:
        for key in store.feed_keys(session):
            for limit in (1, 7, 50, 1000):
                orm = orm_articles(session, key, now, limit)
                rows = store.visible_article_rows(session, key, now, limit)
                assert [r.id for r in rows] == [a.id for a in orm], (key, limit)
                for row, article in zip(rows, orm, strict=True):
                    for name in (f.name for f in dataclasses.fields(row) if f.name != "links"):
                        assert getattr(row, name) == getattr(article, name), (key, name)
                    assert [x.category_slug for x in row.links] == [
                        x.category_slug for x in article.links
                    ]


# --- saving on a second thread -----------------------------------------------------------------


def test_pipelined_run_stores_what_a_sequential_run_stores(demo_data: Flask) -> None:
    regenerator = services(demo_data).regenerator
    regenerator.pipeline_after = 1  # every run saves on the saver thread
    first = regenerator.run()
    assert first.ok and first.rendered == sorted(first.rendered) and len(first.rendered) == 9
    pipelined = stored(demo_data)
    regenerator.pipeline_after = 10_000  # one thread; the clock has not moved: same instant
    again = regenerator.run(force=True)
    assert again.ok and again.rendered == first.rendered
    sequential = stored(demo_data)
    assert {k: s.version for k, s in sequential.items()} == {k: 2 for k in pipelined}
    assert bodies(sequential) == bodies(pipelined)


def test_pipelined_run_keeps_a_failing_feed_as_it_was(
    demo_data: Flask, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services(demo_data)
    s.regenerator.pipeline_after = 1
    assert s.regenerator.run().ok
    before = stored(demo_data)
    real_render = RENDERERS["atom"].render_parts
    real_save = store.save_snapshot

    def render(feed: Any) -> Any:
        if feed.key == "kinh-te":
            raise RuntimeError("renderer bug")
        return real_render(feed)

    def save(session: Any, row: Any, previous: int | None) -> bool:
        if row.key == "the-gioi":
            raise RuntimeError("disk full")
        return real_save(session, row, previous)

    monkeypatch.setattr(RENDERERS["atom"], "render_parts", render)
    monkeypatch.setattr(store, "save_snapshot", save)
    clock.advance(5)
    # A changed setting changes every feed.
    s.regenerator.settings = dataclasses.replace(s.settings, cache_max_age=120)
    result = s.regenerator.run()
    assert sorted(result.failed) == ["kinh-te", "the-gioi"]
    assert "renderer bug" in result.failed["kinh-te"] and "disk full" in result.failed["the-gioi"]
    assert len(result.rendered) == 7 and result.rendered == sorted(result.rendered)
    after = stored(demo_data)
    for key in ("kinh-te", "the-gioi"):
        assert bodies({key: after[key]}) == bodies({key: before[key]})
    with s.db.reading() as session:
        assert {"kinh-te", "the-gioi"} <= set(store.dirty_feeds(session))
    monkeypatch.undo()
    assert sorted(s.regenerator.run().rendered) == ["kinh-te", "the-gioi"]


# --- the render process ------------------------------------------------------------------------


def test_the_render_process_stores_what_this_process_stores(
    demo_data: Flask, clock: FrozenClock
) -> None:
    s = services(demo_data)
    regenerator = s.regenerator
    regenerator.pipeline_after = 1

    def remote_then_here() -> tuple[dict[str, Snapshot], dict[str, Snapshot]]:
        regenerator.start_pool()
        try:
            run = regenerator.run()
            assert run.ok and run.rendered
            remote = {key: stored(demo_data)[key] for key in run.rendered}
        finally:
            regenerator.stop_pool()
        assert not regenerator.pool.started
        regenerator.pipeline_after, saved = 10_000, regenerator.pipeline_after
        # Every feed again, here, in one thread; the clock has not moved: the same instant.
        assert regenerator.run(force=True).ok
        regenerator.pipeline_after = saved
        return remote, {key: stored(demo_data)[key] for key in remote}

    remote, here = remote_then_here()
    assert len(remote) == 9 and bodies(remote) == bodies(here)
    # A publish: two feeds, their other items from the stored snapshots.
    clock.advance(60)
    assert not store_articles(s.db, s.settings, s.clock, [article("moi-1", "kinh-te")]).rejected
    remote, here = remote_then_here()
    assert sorted(remote) == ["all", "kinh-te"] and bodies(remote) == bodies(here)


def test_a_lost_render_process_costs_nothing_but_time(demo_data: Flask) -> None:
    regenerator = services(demo_data).regenerator
    regenerator.pipeline_after = 1
    regenerator.start_pool()
    try:
        assert regenerator.pool._process is not None
        regenerator.pool._process.kill()
        regenerator.pool._process.join(10)
        result = regenerator.run()  # the jobs go nowhere: every feed is rendered here
        assert result.ok and len(result.rendered) == 9
        assert regenerator.pool.started and regenerator.pool._process is None
        assert regenerator.run(force=True).ok  # the next run starts a new process
        assert regenerator.pool._process is not None and regenerator.pool._process.is_alive()
    finally:
        regenerator.stop_pool()
    remote = stored(demo_data)
    regenerator.pipeline_after = 10_000
    assert regenerator.run(force=True).ok
    assert bodies(stored(demo_data)) == bodies(remote)


class _ExitWhenRead:
    """Sent down the pipe, it ends the render process as it is unpickled there."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (os._exit, (0,))


def test_a_render_process_lost_mid_run_leaves_its_feeds_to_this_one(
    demo_data: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    regenerator = services(demo_data).regenerator
    regenerator.pipeline_after = 1
    pool = regenerator.pool
    real_send = pool.send
    sent: list[int | None] = []

    def send(feed: Any, keys: tuple[str, ...]) -> int | None:
        if len(sent) == 1:  # the first feed is answered, then the process ends
            assert pool._conn is not None
            pool._conn.send(_ExitWhenRead())
        sent.append(real_send(feed, keys))
        return sent[-1]

    monkeypatch.setattr(pool, "send", send)
    regenerator.start_pool()
    try:
        result = regenerator.run()
        assert result.ok and len(result.rendered) == 9
        assert sent[0] is not None and pool._process is None  # lost, and forgotten
    finally:
        regenerator.stop_pool()
    mixed = stored(demo_data)
    regenerator.pipeline_after = 10_000
    assert regenerator.run(force=True).ok
    assert bodies(stored(demo_data)) == bodies(mixed)


def test_a_feed_the_render_process_cannot_render_fails_alone(demo_data: Flask) -> None:
    s = services(demo_data)
    with s.db.reading() as session:
        articles = store.visible_article_rows(session, "all", s.clock.now(), 2)
        names = {c.slug: c.name for c in store.list_categories(session)}
    good = build_feed(s.settings, "all", None, articles, names, s.clock.now())
    broken = dataclasses.replace(
        good, items=tuple(dataclasses.replace(i, published=None) for i in good.items)
    )
    pool = RenderPool()
    pool.start()
    try:
        assert pool.new_run()
        first = pool.send(broken, item_keys(good))
        second = pool.send(good, item_keys(good))
        assert first is not None and second is not None
        with pytest.raises(RenderError, match="AttributeError"):
            pool.receive(first)
        parts = pool.receive(second)  # the process goes on with the next feed
        assert parts is not None and set(parts) == set(RENDERERS)
        assert all(len(p.items) == 2 for p in parts.values())
        assert parts["rss"].join() == RENDERERS["rss"].render(good)
    finally:
        pool.stop()
    assert pool._process is None


# --- bundles -----------------------------------------------------------------------------------


def fsnap1(snapshot: Snapshot) -> bytes:
    """The bundle of a snapshot as the first format wrote it: identity, then gzip, per format."""
    data = to_bundle(snapshot)
    (head_len,) = struct.unpack_from(">I", data, 7)
    head = data[11 : 11 + head_len]
    manifest = json.loads(head)
    bodies = b"".join(
        snapshot.formats[fmt].identity.body + snapshot.formats[fmt].gzip.body
        for fmt in manifest["formats"]
    )
    return BUNDLE_MAGIC_1 + struct.pack(">I", head_len) + head + bodies


def test_bundles_store_gzip_bodies_only_and_read_back_whole(demo_data: Flask) -> None:
    assert services(demo_data).regenerator.run().ok
    snapshot = stored(demo_data)["all"]
    bundle = to_bundle(snapshot)
    identity = sum(len(e.identity.body) for e in snapshot.formats.values())
    gz = sum(len(e.gzip.body) for e in snapshot.formats.values())
    assert gz < len(bundle) < gz + identity // 2
    for data in (bundle, fsnap1(snapshot)):
        again = from_bundle(data)
        assert bodies({"all": again}) == bodies({"all": snapshot})
        assert again.formats == snapshot.formats
        assert bundle_items(data) == bundle_items(bundle)


def test_a_damaged_bundle_is_refused(demo_data: Flask) -> None:
    assert services(demo_data).regenerator.run().ok
    snapshot = stored(demo_data)["thoi-su"]
    entry = snapshot.formats["rss"]
    shorter = dataclasses.replace(
        entry, gzip=dataclasses.replace(entry.gzip, body=entry.gzip.body[:-8] + b"\0" * 8)
    )
    damaged = to_bundle(dataclasses.replace(snapshot, formats={"rss": shorter}))
    with pytest.raises(ValueError):
        from_bundle(damaged)
    with pytest.raises(ValueError, match="not a feedsvc snapshot bundle"):
        from_bundle(b"FSNAP9\n" + damaged[7:])


# --- item keys ---------------------------------------------------------------------------------


def items() -> list[Item]:
    when = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    base = Item("tag:x,2026:article/1", "1", "https://x.vn/1", "Tiêu đề", when, when, "Sapo")
    return [
        base,
        dataclasses.replace(base, title="Tiêu", summary="đềSapo"),  # the same characters, moved
        dataclasses.replace(base, title="Tiêu đề4:Sapo", summary=None),
        dataclasses.replace(base, categories=(CategoryRef("a", "b"),)),
        dataclasses.replace(base, categories=(CategoryRef("ab", ""),)),
        dataclasses.replace(base, image=Image("https://x.vn/a.jpg")),
        dataclasses.replace(base, image=Image("https://x.vn/a.jpg", length=0)),
        dataclasses.replace(base, updated=when.replace(second=1)),
        dataclasses.replace(base, content_html="\ud800 lone surrogate"),
    ]


def test_item_keys_tell_every_item_apart_and_memo_agrees(demo_data: Flask) -> None:
    s = services(demo_data)
    assert s.regenerator.run().ok
    snapshot = stored(demo_data)["all"]

    with s.db.reading() as session:
        articles = store.visible_article_rows(session, "all", s.clock.now(), 50)
        names = {c.slug: c.name for c in store.list_categories(session)}
    feed = build_feed(s.settings, "all", None, articles, names, s.clock.now())
    assert item_keys(feed) == snapshot.item_keys
    memo: dict[int, Any] = {}
    assert item_keys(feed, memo) == item_keys(feed, memo) == snapshot.item_keys
    odd = dataclasses.replace(feed, items=tuple(items()))
    keys = item_keys(odd)
    assert len(set(keys)) == len(keys)
