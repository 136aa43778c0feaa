"""Upserting articles: what counts as a correction readers can see, and when it is dated.

A change to anything a feed shows, sent without a later ``updated_at``, is dated by the
service's clock (``revised_at``); a change to ``updated_at`` alone, an unknown field or an
identical repeat dates nothing. The feeds' side is in tests/unit/publish/test_feed_builder.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.ingest.store_records import delete_article, store_articles
from feedsvc.store.articles import item_updated
from feedsvc.store.models import Article

from tests.helpers.app import START, article, services

PUBLISHED = "2026-11-19T08:00:00+07:00"
PUBLISHED_UTC = datetime(2026, 11, 19, 1, 0, tzinfo=UTC)


def _stored(app: Flask, article_id: str) -> Article:
    with services(app).db.reading() as session:
        row = session.get(Article, article_id)
        assert row is not None
        session.expunge(row)
        return row


def _put(app: Flask, record: dict[str, Any]) -> str:
    s = services(app)
    result = store_articles(s.db, s.settings, s.clock, [record])
    assert not result.rejected, [r.reason for r in result.rejected]
    return result.stored[0].status


@pytest.fixture
def stored(newsroom: Flask, clock: FrozenClock) -> dict[str, Any]:
    """Article a1 of the newsroom, as it was sent; the clock one minute later."""
    clock.advance(60)
    return article("a1", "thoi-su", published_at=PUBLISHED)


VISIBLE_CHANGES: list[tuple[str, Any]] = [
    ("title", "Tiêu đề đã đính chính"),
    ("summary", "Sapo đã sửa."),
    ("content_html", "<p>Nội dung đã sửa.</p>"),
    ("image", {"url": "https://bienphong.example/anh-moi.jpg", "caption": "Ảnh mới"}),
    ("categories", ["thoi-su", "kinh-te"]),
    ("author", "Phóng viên khác"),
    ("url", "https://bienphong.example/a1-sua.html"),
    ("published_at", "2026-11-19T08:30:00+07:00"),
]


@pytest.mark.parametrize(("field", "value"), VISIBLE_CHANGES, ids=[f for f, _ in VISIBLE_CHANGES])
def test_a_visible_change_is_dated_by_the_service_clock(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock, field: str, value: Any
) -> None:
    assert _stored(newsroom, "a1").revised_at is None
    assert _put(newsroom, {**stored, field: value}) == "replaced"
    row = _stored(newsroom, "a1")
    assert row.revised_at == clock.now() == START + timedelta(seconds=60)
    assert row.updated_at is None  # the record stays as sent (GET /api/v1/articles/ID)
    assert item_updated(row.published_at, row.updated_at, row.revised_at) == clock.now()


def test_an_identical_repeat_changes_nothing(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock
) -> None:
    before = _stored(newsroom, "a1")
    with services(newsroom).db.reading() as session:
        changes = store.read_counter(session, "changes")
    assert _put(newsroom, stored) == "unchanged"
    after = _stored(newsroom, "a1")
    assert (after.modified_at, after.revised_at) == (before.modified_at, None)
    with services(newsroom).db.reading() as session:
        assert store.read_counter(session, "changes") == changes


def test_an_unknown_field_changes_nothing(newsroom: Flask, stored: dict[str, Any]) -> None:
    assert _put(newsroom, {**stored, "cms_revision": 7, "view_count": 12345}) == "unchanged"
    assert _stored(newsroom, "a1").revised_at is None


def test_updated_at_alone_is_not_a_correction(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock
) -> None:
    # The CMS dates the article, and nothing readers see changes: its own time shows, not ours.
    assert _put(newsroom, {**stored, "updated_at": "2026-11-19T09:00:00+07:00"}) == "replaced"
    row = _stored(newsroom, "a1")
    assert row.revised_at is None
    assert item_updated(row.published_at, row.updated_at, row.revised_at) == datetime(
        2026, 11, 19, 2, 0, tzinfo=UTC
    )
    # Nor after a correction: the correction's moment is kept, and the later time shows.
    clock.advance(60)
    assert _put(newsroom, {**stored, "title": "Sửa"}) == "replaced"
    corrected = _stored(newsroom, "a1").revised_at
    assert corrected == clock.now()
    clock.advance(60)
    _put(newsroom, {**stored, "title": "Sửa", "updated_at": "2026-11-19T10:00:00+07:00"})
    assert _stored(newsroom, "a1").revised_at == corrected


@pytest.mark.parametrize(
    ("updated_at", "shown"),
    [
        # Older than the change (CMSs that resend the first version's time): the change's moment.
        ("2026-11-19T09:00:00+07:00", START + timedelta(seconds=60)),
        # Later than the change (a CMS clock ahead of ours): the CMS's time, the later one.
        ("2026-11-20T10:05:00+07:00", datetime(2026, 11, 20, 3, 5, tzinfo=UTC)),
    ],
    ids=["older", "later"],
)
def test_an_explicit_updated_at_with_a_correction_gives_the_later_of_the_two(
    newsroom: Flask, stored: dict[str, Any], updated_at: str, shown: datetime
) -> None:
    _put(newsroom, {**stored, "title": "Tiêu đề đã sửa", "updated_at": updated_at})
    row = _stored(newsroom, "a1")
    assert row.revised_at == START + timedelta(seconds=60)
    assert item_updated(row.published_at, row.updated_at, row.revised_at) == shown


def test_every_correction_moves_it_again(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock
) -> None:
    moments = []
    for title in ("Sửa lần 1", "Sửa lần 2", "Sửa lần 1"):
        clock.advance(30)
        _put(newsroom, {**stored, "title": title})
        moments.append(_stored(newsroom, "a1").revised_at)
    assert moments == [START + timedelta(seconds=s) for s in (90, 120, 150)]


def test_a_new_article_and_a_restored_one(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock
) -> None:
    s = services(newsroom)
    assert _put(newsroom, article("new-1", "thoi-su", published_at=PUBLISHED)) == "created"
    assert _stored(newsroom, "new-1").revised_at is None  # its own time: nothing was corrected
    # Deleted, then sent again as it was: restored as readers knew it, not corrected.
    assert delete_article(s.db, s.clock, "a1")
    clock.advance(60)
    assert _put(newsroom, stored) == "created"
    assert _stored(newsroom, "a1").revised_at is None
    # Deleted, then sent again changed: a correction.
    assert delete_article(s.db, s.clock, "a1")
    clock.advance(60)
    assert _put(newsroom, {**stored, "title": "Bài trở lại, đã sửa"}) == "created"
    assert _stored(newsroom, "a1").revised_at == clock.now()


def test_the_importer_dates_corrections_the_same(
    newsroom: Flask, stored: dict[str, Any], clock: FrozenClock, tmp_path: Path
) -> None:
    lines = tmp_path / "articles.jsonl"
    records = [
        {**stored, "title": "Đính chính qua CLI"},
        article("a2", "thoi-su", "kinh-te", published_at="2026-11-19T09:00:00+07:00"),
    ]
    lines.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    result = newsroom.test_cli_runner().invoke(args=["import-articles", str(lines)])
    assert result.exit_code == 0, result.output
    assert _stored(newsroom, "a1").revised_at == clock.now()
    assert _stored(newsroom, "a2").revised_at is None  # sent identical: unchanged


@pytest.mark.parametrize(
    ("updated_at", "revised_at", "shown"),
    [
        (None, None, PUBLISHED_UTC),
        (PUBLISHED_UTC + timedelta(hours=1), None, PUBLISHED_UTC + timedelta(hours=1)),
        (None, PUBLISHED_UTC + timedelta(hours=2), PUBLISHED_UTC + timedelta(hours=2)),
        (
            PUBLISHED_UTC + timedelta(hours=3),
            PUBLISHED_UTC + timedelta(hours=2),
            PUBLISHED_UTC + timedelta(hours=3),
        ),
        # Corrected while embargoed: the item appears with its publication time.
        (None, PUBLISHED_UTC - timedelta(hours=5), PUBLISHED_UTC),
    ],
)
def test_item_updated_is_the_later_time(
    updated_at: datetime | None, revised_at: datetime | None, shown: datetime
) -> None:
    assert item_updated(PUBLISHED_UTC, updated_at, revised_at) == shown
