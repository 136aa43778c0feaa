"""A destination's worker on a real database and a local Telegram: pace, retries, attempts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from feedsvc.clock import Clock
from feedsvc.relay import outbox
from feedsvc.relay.config import load_relay_config
from feedsvc.relay.destinations import build
from feedsvc.relay.message import Story
from feedsvc.relay.sender import DestinationWorker
from feedsvc.store.db import Database

from tests.helpers.chat_apis import FakeTelegram


def worker(
    db: Database, telegram: FakeTelegram, stop: threading.Event, **kw: float
) -> DestinationWorker:
    options = {"type": "telegram", "chat_id": "5", "token_env": "T", "api_base": telegram.base}
    config = load_relay_config({"destinations": {"tg": options}}, {"T": "1:t"}, "http://x.example")
    sender = build(config.destinations[0], db, Clock(), 1.0)
    return DestinationWorker(
        "tg",
        sender,
        db,
        Clock(),
        pace_seconds=kw.get("pace", 0.0),
        backoff_seconds=0.05,
        max_attempts=int(kw.get("attempts", 5)),
        stop=stop,
    )


def queue(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    stories = [
        ("tg", "all", Story(f"tag:x,2026:article/{n}", f"Tin {n}", f"https://x.example/{n}"))
        for n in range(count)
    ]
    with db.writing() as session:
        outbox.enqueue(session, stories, now)


def run_until(db: Database, check: object, stop: threading.Event, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.reading() as session:
            if check(outbox.state_counts(session)):  # type: ignore[operator]
                break
        time.sleep(0.02)
    stop.set()


def test_pace_between_sends(db: Database) -> None:
    telegram, stop = FakeTelegram("1:t"), threading.Event()
    try:
        queue(db, 4)
        w = worker(db, telegram, stop, pace=0.3)
        w.start()
        run_until(db, lambda c: c.get(("tg", "sent")) == 4, stop)
        w.join(5)
        gaps = [b.at - a.at for a, b in zip(telegram.received, telegram.received[1:], strict=False)]
        assert len(telegram.received) == 4 and min(gaps) >= 0.28
    finally:
        telegram.close()


def test_retry_after_and_giving_up(db: Database) -> None:
    telegram, stop = FakeTelegram("1:t"), threading.Event()
    try:
        queue(db, 1)
        telegram.fail_next("429:1", "500", "500", "500")
        w = worker(db, telegram, stop, attempts=3)
        w.start()
        run_until(db, lambda c: c.get(("tg", "failed")) == 1, stop)
        w.join(5)
        assert telegram.received == [] and telegram.requests == 3
        with db.reading() as session:
            assert outbox.state_counts(session) == {("tg", "failed"): 1}
    finally:
        telegram.close()
