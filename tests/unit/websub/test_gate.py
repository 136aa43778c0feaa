"""The wait before a delivery leaves (issue 14, problem 1): until this instance serves the
version, and every other live instance has reached it, at most a bounded time
(feedsvc/websub/gate.py). The whole flow over real sockets is in tests/system/test_versions.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.publish.board import SharedBoard
from feedsvc.publish.purge import CachePurger
from feedsvc.publish.snapshot import Snapshot
from feedsvc.store.db import Database
from feedsvc.websub import store as hub_store
from feedsvc.websub.client import Reply
from feedsvc.websub.delivery import Distributor, SnapshotCache
from feedsvc.websub.gate import DeliveryGate

from tests.helpers.app import services

BOUND = 1.5  # the gate's bound in these tests, seconds (room for a loaded CI machine)
LATE = 0.15  # how long after the wait began a test brings an instance up to date


@pytest.fixture
def board(tmp_path: Path) -> Iterator[SharedBoard]:
    board = SharedBoard(str(tmp_path / "run"))
    yield board
    board.close()


@pytest.fixture
def gate(app: Flask, board: SharedBoard) -> DeliveryGate:
    s = services(app)
    return DeliveryGate(s.db, board, s.clock, seconds=BOUND)


def later(action: object) -> threading.Thread:
    """Run ``action`` LATE seconds from now, on a thread."""
    assert callable(action)
    thread = threading.Timer(LATE, action)
    thread.start()
    return thread


def timed(gate: DeliveryGate, key: str, version: int) -> tuple[bool, float]:
    started = time.monotonic()
    done = gate.wait(key, version)
    return done, time.monotonic() - started


def set_snapshots_counter(app: Flask, value: int) -> None:
    with services(app).db.writing() as session:
        while store.read_counter(session, "snapshots") < value:
            store.bump_counter(session, "snapshots")


def report(app: Flask, instance_id: str, counter: int, age: float = 0.0) -> None:
    s = services(app)
    with s.db.writing() as session:
        when = s.clock.now() - timedelta(seconds=age)
        store.report_instance(session, instance_id, f"other:{instance_id[:4]}", counter, when)


def test_a_version_this_instance_serves_leaves_at_once(
    gate: DeliveryGate, board: SharedBoard
) -> None:
    board.stamp()
    board.raise_to("thoi-su", 3)
    done, took = timed(gate, "thoi-su", 3)
    assert done and took < LATE


def test_it_waits_until_this_instance_serves_the_version(
    gate: DeliveryGate, board: SharedBoard
) -> None:
    board.stamp()
    board.raise_to("thoi-su", 2)
    later(lambda: board.raise_to("thoi-su", 3))
    done, took = timed(gate, "thoi-su", 3)
    assert done and LATE <= took < BOUND


def test_a_process_that_serves_nothing_is_not_waited_for(gate: DeliveryGate) -> None:
    done, took = timed(gate, "thoi-su", 3)  # no worker ever stamped this board
    assert done and took < LATE


def test_the_wait_is_bounded_and_the_log_says_who_was_late(
    gate: DeliveryGate, board: SharedBoard, caplog: pytest.LogCaptureFixture
) -> None:
    board.stamp()
    caplog.set_level(logging.INFO, logger="feedsvc.websub.gate")
    done, took = timed(gate, "thoi-su", 3)
    assert not done and BOUND <= took < BOUND + 1.0
    lines = [r.getMessage() for r in caplog.records if r.name == "feedsvc.websub.gate"]
    assert lines == [
        f"websub: feed 'thoi-su' version 3 delivered after {took:.1f} s although this "
        "instance did not serve it yet"
    ]


def test_it_waits_for_every_other_live_instance(
    app: Flask, gate: DeliveryGate, board: SharedBoard
) -> None:
    board.stamp()
    board.raise_to("thoi-su", 3)
    set_snapshots_counter(app, 8)
    report(app, "a" * 32, 8)
    report(app, "b" * 32, 7)  # one snapshot behind
    later(lambda: report(app, "b" * 32, 8))
    done, took = timed(gate, "thoi-su", 3)
    assert done and LATE <= took < BOUND


def test_silent_instances_and_this_one_are_not_waited_for(
    app: Flask, gate: DeliveryGate, board: SharedBoard
) -> None:
    board.stamp()
    board.raise_to("thoi-su", 3)
    set_snapshots_counter(app, 8)
    report(app, "c" * 32, 1, age=10)  # not heard of for 10 s: stopped
    report(app, board.instance_id, 1)  # this instance: judged by its board, not its report
    done, took = timed(gate, "thoi-su", 3)
    assert done and took < LATE


def test_a_version_known_to_be_served_needs_no_database(
    gate: DeliveryGate, board: SharedBoard, tmp_path: Path
) -> None:
    board.stamp()
    board.raise_to("thoi-su", 3)
    assert gate.wait("thoi-su", 3)
    down = tmp_path / "down.db"
    down.mkdir()
    gate.db = Database(f"sqlite:///{down}")
    try:
        assert gate.wait("thoi-su", 2)
        board.raise_to("thoi-su", 4)
        done, took = timed(gate, "thoi-su", 4)  # the others cannot be asked: it goes at once
        assert not done and took < LATE
    finally:
        gate.db.dispose()


# --- the delivery waits for the gate -------------------------------------------------------------


@dataclass
class Recorder:
    """A callback that takes every POST, noting when and which version of the feed it got."""

    board: SharedBoard
    posts: list[tuple[float, int]] = field(default_factory=list)

    def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        self.posts.append((time.monotonic(), self.board.version("thoi-su")))
        return Reply(204, b"")


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self"}


def test_a_delivery_leaves_once_the_instance_serves_its_version(
    newsroom: Flask, board: SharedBoard, clock: FrozenClock
) -> None:
    s = services(newsroom)
    version = s.registry.snapshots["thoi-su"].version
    gate = DeliveryGate(s.db, board, s.clock, seconds=5)
    recorder = Recorder(board)
    distributor = Distributor(s.db, s.settings, s.clock, recorder, SnapshotCache(s.db), gate)  # type: ignore[arg-type]
    job = hub_store.DeliveryJob(
        subscription_id=1,
        version=version,
        attempts=0,
        callback="https://bot.example/cb",
        topic="http://feeds.test/feeds/thoi-su.rss",
        feed_key="thoi-su",
        fmt="rss",
        secret=None,
    )
    board.stamp()
    board.raise_to("thoi-su", version - 1)  # this instance still serves the one before
    started = time.monotonic()
    later(lambda: board.raise_to("thoi-su", version))
    assert distributor.deliver(job) == "delivered"
    [(at, served)] = recorder.posts
    assert served == version and at - started >= LATE


def test_with_caches_in_front_it_also_waits_for_their_purge(
    gate: DeliveryGate, board: SharedBoard
) -> None:
    """The purge starts once the version is served (``ready``); the delivery leaves after it."""
    purged = threading.Event()

    class Cache:
        name = "cache"

        def purge(self, feeds: list[str]) -> None:
            time.sleep(LATE)
            purged.set()

        def close(self) -> None:
            pass

    purger = CachePurger([Cache()], give_up_seconds=5, ready=gate.served)
    gate.purger = purger
    try:
        board.stamp()
        board.raise_to("thoi-su", 3)
        purger.on_snapshot(Snapshot("thoi-su", 3, 1_700_000_000, True, "fp", 60))
        done, took = timed(gate, "thoi-su", 3)
        assert done and purged.is_set() and took >= LATE * 0.9
    finally:
        purger.stop()
