"""An instance's report on the database (feedsvc/publish/instance.py): written while a web
worker of the instance is alive, rewritten as soon as the counter it serves up to moves, removed
when no worker is left or the instance stops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.publish.board import SharedBoard
from feedsvc.publish.instance import FORGET_SECONDS, InstanceReporter
from feedsvc.store.instances import LiveInstance

from tests.helpers.app import services


@pytest.fixture
def reporter(app: Flask, tmp_path: Path) -> Iterator[InstanceReporter]:
    s = services(app)
    board = SharedBoard(str(tmp_path / "run"))
    yield InstanceReporter(board, s.db, s.clock)
    board.close()


def reports(app: Flask, clock: FrozenClock) -> list[LiveInstance]:
    with services(app).db.reading() as session:
        return store.live_instances(session, clock.now() - timedelta(seconds=3))


def test_no_report_while_no_worker_is_alive(
    app: Flask, clock: FrozenClock, reporter: InstanceReporter
) -> None:
    reporter.report()
    assert reports(app, clock) == []


def test_the_report_follows_the_counter_the_workers_reached(
    app: Flask, clock: FrozenClock, reporter: InstanceReporter
) -> None:
    board = reporter.board
    board.stamp()
    board.reach(4)
    reporter.report()
    assert reports(app, clock) == [LiveInstance(board.instance_id, reporter.host, 4)]
    board.reach(9)
    reporter.report()  # at once, not a second later
    assert [r.counter for r in reports(app, clock)] == [9]


def test_the_report_goes_when_the_workers_go_or_the_instance_stops(
    app: Flask, clock: FrozenClock, reporter: InstanceReporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = reporter.board
    board.stamp()
    reporter.report()
    assert len(reports(app, clock)) == 1
    monkeypatch.setattr(type(board), "workers_alive", lambda self, within: False)
    reporter.report()
    assert reports(app, clock) == []
    monkeypatch.undo()
    reporter.start()
    assert reporter.running
    board.stamp()
    reporter.report()
    assert len(reports(app, clock)) == 1
    reporter.stop()
    assert reports(app, clock) == []


def test_long_silent_instances_are_forgotten(
    app: Flask, clock: FrozenClock, reporter: InstanceReporter
) -> None:
    with services(app).db.writing() as session:
        old = clock.now() - timedelta(seconds=FORGET_SECONDS + 1)
        store.report_instance(session, "0" * 32, "gone:1", 3, old)
    reporter.board.stamp()
    reporter.report()
    with services(app).db.reading() as session:
        everyone = store.live_instances(session, clock.now() - timedelta(days=365))
    assert [i.host for i in everyone] == [reporter.host]


def test_a_database_outage_is_logged_once(
    unreachable_app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = services(unreachable_app)
    board = SharedBoard(str(tmp_path / "run"))
    reporter = InstanceReporter(board, s.db, s.clock)
    board.stamp()
    for _ in range(3):
        reporter.report()
    board.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "feedsvc.publish.instance"]
    assert len(lines) == 1 and lines[0].startswith("instance: cannot report to the database")
