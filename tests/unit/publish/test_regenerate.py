"""Regeneration: change tracking, Last-Modified, failures kept apart, the scheduler."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.http.conditional import parse_http_date
from feedsvc.ingest.store_records import delete_article, store_articles, store_category
from feedsvc.render import RENDERERS
from feedsvc.store.models import FeedSnapshot

from tests.helpers.app import article, category, load, services


def _get(app: Flask, path: str, **headers: str) -> Any:
    return app.test_client().get(path, headers=headers)


def _validators(app: Flask, path: str = "/feeds/thoi-su.rss") -> tuple[str, int, bytes]:
    response = _get(app, path)
    assert response.status_code == 200
    return (
        response.headers["ETag"],
        parse_http_date(response.headers["Last-Modified"]),
        response.data,
    )


def _item_ids(app: Flask, key: str) -> list[str]:
    data = json.loads(_get(app, f"/feeds/{key}.json").data)
    return [item["id"].rsplit("/", 1)[1] for item in data["items"]]


def test_no_change_means_identical_snapshots(newsroom: Flask, clock: FrozenClock) -> None:
    before = {fmt: _validators(newsroom, f"/feeds/thoi-su.{fmt}") for fmt in RENDERERS}
    clock.advance(30)
    result = services(newsroom).regenerator.run()
    assert result.rendered == []
    after = {fmt: _validators(newsroom, f"/feeds/thoi-su.{fmt}") for fmt in RENDERERS}
    assert after == before


def test_identical_repeat_changes_nothing(newsroom: Flask, clock: FrozenClock) -> None:
    s = services(newsroom)
    etag, lm, _ = _validators(newsroom)
    clock.advance(5)
    result = store_articles(
        s.db,
        s.settings,
        s.clock,
        [article("a1", "thoi-su", published_at="2026-11-19T08:00:00+07:00")],
    )
    assert [x.status for x in result.stored] == ["unchanged"]
    assert s.regenerator.run().rendered == []
    assert _validators(newsroom)[:2] == (etag, lm)


@pytest.mark.parametrize("change", ["edit", "delete", "new", "rename"])
def test_a_change_moves_etag_and_last_modified(
    newsroom: Flask, clock: FrozenClock, change: str
) -> None:
    s = services(newsroom)
    etag, lm, _ = _validators(newsroom)
    clock.advance(2)
    if change == "edit":
        load(
            newsroom,
            [],
            [
                article(
                    "a1",
                    "thoi-su",
                    title="Tiêu đề đã sửa",
                    published_at="2026-11-19T08:00:00+07:00",
                )
            ],
        )
    elif change == "delete":
        assert delete_article(s.db, s.clock, "a1")
    elif change == "new":
        load(newsroom, [], [article("a9", "thoi-su", published_at="2026-11-19T11:00:00+07:00")])
    else:
        store_category(s.db, s.clock, category("thoi-su", "Thời sự trong nước"))
    result = s.regenerator.run()
    assert "thoi-su" in result.rendered
    new_etag, new_lm, body = _validators(newsroom)
    assert new_etag != etag
    assert new_lm == lm + 2
    ids = _item_ids(newsroom, "thoi-su")
    if change == "delete":
        assert "a1" not in ids and "a1" not in _item_ids(newsroom, "all")
    if change == "new":
        assert ids[0] == "a9"
    if change == "rename":
        assert "Thời sự trong nước".encode() in body
        # Items of thoi-su carry its name in other feeds too.
        assert "Thời sự trong nước" in _get(newsroom, "/feeds/kinh-te.json").get_data(as_text=True)
    # The feed's own build date is the Last-Modified instant.
    atom = _get(newsroom, "/feeds/thoi-su.atom")
    assert (
        atom.headers["Last-Modified"]
        == _get(newsroom, "/feeds/thoi-su.rss").headers["Last-Modified"]
    )


def test_edit_keeps_the_item_id(newsroom: Flask, clock: FrozenClock) -> None:
    before = json.loads(_get(newsroom, "/feeds/thoi-su.json").data)["items"]
    clock.advance(1)
    load(
        newsroom,
        [],
        [
            article(
                "a2", "thoi-su", "kinh-te", title="Sửa", published_at="2026-11-19T09:00:00+07:00"
            )
        ],
    )
    services(newsroom).regenerator.run()
    after = json.loads(_get(newsroom, "/feeds/thoi-su.json").data)["items"]
    assert [i["id"] for i in after] == [i["id"] for i in before]
    assert after[0]["title"] == "Sửa"


def test_embargo_lifts_without_a_write(newsroom: Flask, clock: FrozenClock) -> None:
    s = services(newsroom)
    # 10:00 in Hà Nội now; embargoed until 10:05.
    load(newsroom, [], [article("e1", "thoi-su", published_at="2026-11-20T10:05:00+07:00")])
    s.regenerator.run()
    assert "e1" not in _item_ids(newsroom, "thoi-su")
    etag, lm, _ = _validators(newsroom)
    clock.advance(4 * 60)
    s.regenerator.run()
    assert "e1" not in _item_ids(newsroom, "thoi-su")
    clock.advance(61)
    result = s.regenerator.run()
    assert {"thoi-su", "all"} <= set(result.rendered)
    assert _item_ids(newsroom, "thoi-su")[0] == "e1"
    assert _item_ids(newsroom, "all")[0] == "e1"
    new_etag, new_lm, _ = _validators(newsroom)
    assert new_etag != etag and new_lm > lm


def test_two_changes_in_one_second(newsroom: Flask, clock: FrozenClock) -> None:
    """RFC 9110 §8.8.2.2: If-Modified-Since equal to a second with two changes gets 200."""
    s = services(newsroom)
    clock.advance(10.2)
    load(newsroom, [], [article("b1", "thoi-su", published_at="2026-11-19T12:00:00+07:00")])
    s.regenerator.run()
    first = _get(newsroom, "/feeds/thoi-su.rss")
    lm = first.headers["Last-Modified"]
    assert _get(newsroom, "/feeds/thoi-su.rss", **{"If-Modified-Since": lm}).status_code == 304
    clock.advance(0.5)
    load(newsroom, [], [article("b2", "thoi-su", published_at="2026-11-19T12:30:00+07:00")])
    s.regenerator.run()
    second = _get(newsroom, "/feeds/thoi-su.rss")
    assert second.headers["Last-Modified"] == lm  # never backwards, never ahead of Date
    assert second.headers["ETag"] != first.headers["ETag"]
    assert _get(newsroom, "/feeds/thoi-su.rss", **{"If-Modified-Since": lm}).status_code == 200
    assert (
        _get(
            newsroom, "/feeds/thoi-su.rss", **{"If-None-Match": second.headers["ETag"]}
        ).status_code
        == 304
    )


def test_a_failing_feed_keeps_its_snapshot(
    newsroom: Flask, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services(newsroom)
    etag, _, body = _validators(newsroom)
    real = RENDERERS["atom"].render_parts

    def explode(feed: Any) -> Any:
        if feed.key == "thoi-su":
            raise RuntimeError("renderer bug")
        return real(feed)

    monkeypatch.setattr(RENDERERS["atom"], "render_parts", explode)
    clock.advance(3)
    load(
        newsroom,
        [],
        [article("c1", "thoi-su", "kinh-te", published_at="2026-11-19T13:00:00+07:00")],
    )
    result = s.regenerator.run()
    assert "thoi-su" in result.failed and "renderer bug" in result.failed["thoi-su"]
    assert "kinh-te" in result.rendered and "all" in result.rendered
    assert _validators(newsroom)[0] == etag
    assert "c1" in _item_ids(newsroom, "kinh-te")
    monkeypatch.setattr(RENDERERS["atom"], "render_parts", real)
    # Still dirty: the next run renders it.
    assert "thoi-su" in s.regenerator.run().rendered
    assert "c1" in _item_ids(newsroom, "thoi-su")


def test_new_category_gets_feeds_at_once(newsroom: Flask) -> None:
    load(newsroom, [category("the-gioi", "Thế giới")], [])
    assert _get(newsroom, "/feeds/the-gioi.rss").status_code == 503  # there, not rendered yet
    services(newsroom).regenerator.run()
    response = _get(newsroom, "/feeds/the-gioi.json")
    assert response.status_code == 200
    assert json.loads(response.data)["items"] == []


def test_older_render_never_overwrites_newer(newsroom: Flask) -> None:
    s = services(newsroom)
    with s.db.reading() as session:
        current = store.get_snapshot(session, "thoi-su")
        assert current is not None
        stale = FeedSnapshot(
            key="thoi-su",
            version=current.version,
            fingerprint="stale",
            last_modified=current.last_modified,
            lm_exact=True,
            created_at=current.created_at,
            bundle=b"",
        )
    with s.db.writing() as session:
        assert not store.save_snapshot(session, stale, current.version - 1)
    with s.db.reading() as session:
        assert store.get_snapshot(session, "thoi-su").fingerprint == current.fingerprint


def test_scheduler_publishes_a_write_without_regenerate(app: Flask) -> None:
    s = services(app)
    load(app, [category("thoi-su", "Thời sự")], [])
    scheduler = s.start_scheduler()
    try:
        load(app, [], [article("w1", "thoi-su", published_at="2026-11-19T08:00:00+07:00")])
        s.written()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = _get(app, "/feeds/thoi-su.json")
            if response.status_code == 200 and "w1" in _item_ids(app, "thoi-su"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the write never reached /feeds/thoi-su.json")
        assert "w1" in _item_ids(app, "all")
        assert scheduler.holding
    finally:
        s.shutdown()


def test_a_write_during_a_sweep_is_not_lost(newsroom: Flask) -> None:
    """The watch tick that finds a run going must try again on the next tick."""
    from feedsvc.publish.scheduler import RegenerationScheduler

    s = services(newsroom)
    scheduler = RegenerationScheduler(s.regenerator, 3600)
    assert scheduler._hold_lease()
    scheduler.watch()  # sees the current counter, runs
    load(newsroom, [], [article("d1", "thoi-su", published_at="2026-11-19T14:00:00+07:00")])
    with scheduler._run_lock:  # a sweep is running
        scheduler.watch()
    assert "d1" not in _item_ids(newsroom, "thoi-su")
    scheduler.watch()  # the next tick
    assert _item_ids(newsroom, "thoi-su")[0] == "d1"
