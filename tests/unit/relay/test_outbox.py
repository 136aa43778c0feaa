"""The outbox's queries, on SQLite and PostgreSQL: one row per story and destination, claimed
before the send, and what a crash leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedsvc.relay import outbox
from feedsvc.relay.message import Story
from feedsvc.store.db import Database

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def story(n: int, minutes_ago: int = 0) -> Story:
    published = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return Story(
        f"tag:x,2026:article/{n}", f"Tin {n}", f"https://x.example/{n}", published=published
    )


def test_each_story_once_per_destination(db: Database) -> None:
    with db.writing() as s:
        assert outbox.enqueue(s, [("tg", "all", story(1)), ("zalo", "all", story(1))], NOW) == 2
        # Seen again (another feed, a repeated delivery): nothing new.
        assert outbox.enqueue(s, [("tg", "thoi-su", story(1)), ("tg", "all", story(2))], NOW) == 1
        assert outbox.state_counts(s) == {("tg", "pending"): 2, ("zalo", "pending"): 1}


def test_claims_oldest_first_and_records_outcomes(db: Database) -> None:
    with db.writing() as s:
        outbox.enqueue(s, [("tg", "all", story(1, 5)), ("tg", "all", story(2, 10))], NOW)
    with db.writing() as s:
        first = outbox.claim_next(s, "tg", NOW)
        assert first is not None and first.story == story(2, 10) and first.attempt == 1
        outbox.mark_retry(s, first.id, NOW + timedelta(seconds=30), "500")
        second = outbox.claim_next(s, "tg", NOW)
        assert second is not None and second.story.id == story(1).id
        outbox.mark_sent(s, second.id, NOW)
        assert outbox.claim_next(s, "tg", NOW) is None  # the retry is not due yet
        assert outbox.next_due(s, "tg") == NOW + timedelta(seconds=30)
        again = outbox.claim_next(s, "tg", NOW + timedelta(seconds=31))
        assert again is not None and again.attempt == 2
        outbox.mark_failed(s, again.id, "bad parameters")
        assert outbox.state_counts(s) == {("tg", "sent"): 1, ("tg", "failed"): 1}


def test_a_crash_leaves_the_send_in_flight_to_be_sent_again(db: Database) -> None:
    with db.writing() as s:
        outbox.enqueue(s, [("tg", "all", story(1)), ("tg", "all", story(2))], NOW)
    with db.writing() as s:
        claimed = outbox.claim_next(s, "tg", NOW)
        assert claimed is not None
    with db.writing() as s:  # another row waits for its backoff
        other = outbox.claim_next(s, "tg", NOW)
        assert other is not None
        outbox.mark_retry(s, other.id, NOW + timedelta(hours=1), "500")
    with db.writing() as s:  # the next start
        assert outbox.recover_in_flight(s, NOW) == [("tg", claimed.story.id)]
        assert outbox.state_counts(s) == {("tg", "pending"): 2}
        assert outbox.next_due(s, "tg") == NOW  # a restart tries everything again at once


def test_a_paused_destination_holds_every_story(db: Database) -> None:
    with db.writing() as s:
        outbox.enqueue(
            s, [("z", "all", story(1)), ("z", "all", story(2)), ("tg", "all", story(3))], NOW
        )
        outbox.hold_destination(s, "z", NOW + timedelta(hours=5), "quota")
        assert outbox.claim_next(s, "z", NOW) is None
        assert outbox.claim_next(s, "tg", NOW) is not None


def test_prune_forgets_only_finished_rows_of_old_stories(db: Database) -> None:
    with db.writing() as s:
        outbox.enqueue(s, [("tg", "all", story(1, 60 * 48)), ("tg", "all", story(2, 60 * 48))], NOW)
        outbox.enqueue(s, [("tg", "all", story(3))], NOW)
        for _ in range(2):
            claimed = outbox.claim_next(s, "tg", NOW)
            assert claimed is not None
            if claimed.story.id.endswith("/1"):
                outbox.mark_sent(s, claimed.id, NOW)
            else:
                outbox.mark_retry(s, claimed.id, NOW + timedelta(days=9), "x")
        assert outbox.prune(s, NOW - timedelta(days=1)) == 1
        assert outbox.state_counts(s) == {("tg", "pending"): 2}
