"""The background purger: regeneration never waits for it; failures are retried with backoff and
logged, and given up after the bound (at once when only an operator can fix them); a delivery's
wait ends when its version is purged or given up; credentials never reach the log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from feedsvc.publish.purge import CachePurger, FastlyPurge, PurgeError
from feedsvc.publish.snapshot import Snapshot

from tests.helpers.cdn import FakeAPI, Reply

TOKEN = "tok-3b1f.secret"


def snap(key: str, version: int) -> Snapshot:
    return Snapshot(key, version, 1_700_000_000, True, "fp", 60)


class Scripted:
    """A cache that fails as scripted, then purges; records each call's feeds."""

    name = "scripted"

    def __init__(self, failures: Sequence[PurgeError] = (), hold: threading.Event | None = None):
        self.failures = list(failures)
        self.hold = hold
        self.calls: list[list[str]] = []

    def purge(self, feeds: Sequence[str]) -> None:
        if self.hold is not None:
            self.hold.wait(5)
        self.calls.append(list(feeds))
        if self.failures:
            raise self.failures.pop(0)

    def close(self) -> None:
        pass


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    fake = FakeAPI().start()
    yield fake
    fake.close()


def test_regeneration_never_waits_and_deliveries_wait_for_the_purge() -> None:
    hold = threading.Event()
    target = Scripted(hold=hold)
    purger = CachePurger([target], give_up_seconds=5)
    try:
        started = time.monotonic()
        purger.on_snapshot(snap("thoi-su", 3))
        purger.on_snapshot(snap("all", 7))
        assert time.monotonic() - started < 0.05  # the listener only records
        assert not purger.wait("thoi-su", 3, timeout=0.2)  # still purging
        hold.set()
        assert purger.wait("thoi-su", 3, timeout=5) and purger.wait("all", 7, timeout=5)
        assert purger.wait("thoi-su", 2, timeout=0)  # an older version: done already
        assert sorted(feed for call in target.calls for feed in call) == ["all", "thoi-su"]
    finally:
        purger.stop()


def test_a_failure_is_retried_with_backoff_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    target = Scripted([PurgeError("503 from the cache"), PurgeError("timed out")])
    purger = CachePurger([target], give_up_seconds=5)
    caplog.set_level(logging.INFO, "feedsvc.publish.purge")
    try:
        started = time.monotonic()
        purger.on_snapshot(snap("thoi-su", 1))
        assert purger.wait("thoi-su", 1, timeout=5)
        # Two failures: waits of 0.1 s and 0.2 s before the third, successful attempt.
        assert time.monotonic() - started >= 0.3
        assert len(target.calls) == 3 and purger.purged == 1 and purger.given_up == 0
    finally:
        purger.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "retrying in 0.1 s" in warnings[0]
    assert any("purged thoi-su" in r.getMessage() for r in caplog.records)


def test_a_failure_only_an_operator_can_fix_is_given_up_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = Scripted([PurgeError("403: not allowed", retry=False)])
    purger = CachePurger([target], give_up_seconds=5)
    try:
        purger.on_snapshot(snap("thoi-su", 1))
        assert purger.wait("thoi-su", 1, timeout=2)  # given up: a delivery need not wait
        assert len(target.calls) == 1 and purger.given_up == 1
    finally:
        purger.stop()
    assert any("gave up" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_retries_end_at_the_bound(api: FakeAPI, caplog: pytest.LogCaptureFixture) -> None:
    api.default = Reply(503, b'{"msg":"Service unavailable"}')
    purger = CachePurger([FastlyPurge("svc", TOKEN, 1, api=api.url)], give_up_seconds=0.8)
    caplog.set_level(logging.DEBUG)
    try:
        started = time.monotonic()
        purger.on_snapshot(snap("thoi-su", 1))
        assert purger.wait("thoi-su", 1, timeout=5)
        assert time.monotonic() - started < 2.5
        assert purger.given_up == 1 and len(api.received) >= 3
        assert all(r.headers["fastly-key"] == TOKEN for r in api.received)
    finally:
        purger.stop()
    assert any("Service unavailable" in r.getMessage() for r in caplog.records)
    # The token went to Fastly in every request, and into no log line.
    assert not any(TOKEN in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text


def test_versions_waiting_together_are_purged_together() -> None:
    hold = threading.Event()
    target = Scripted(hold=hold)
    purger = CachePurger([target], give_up_seconds=5)
    try:
        purger.on_snapshot(snap("a", 1))
        time.sleep(0.05)  # the thread took "a" and is held in its purge
        for version in (2, 3):
            purger.on_snapshot(snap("a", version))
        purger.on_snapshot(snap("b", 1))
        hold.set()
        assert purger.wait("a", 3, timeout=5) and purger.wait("b", 1, timeout=5)
        assert target.calls == [["a"], ["a", "b"]]
    finally:
        purger.stop()
