"""Regeneration: find the feeds whose content changed, render every format, save snapshots.

The scheduler, the ``regenerate`` command and the tests all call :meth:`Regenerator.run`. A run
finds the changed feeds, then takes each through three steps, each handing a value to the next:
:func:`~feedsvc.publish.plan.plan_feed` reads it into a plan; :mod:`~feedsvc.publish.assemble`
renders the plan's bodies (here, or its items in the render process of
:mod:`~feedsvc.publish.renderpool`); :mod:`~feedsvc.publish.saver` saves them (on a second thread
in large runs).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.publish.assemble import (
    RemoteJob,
    Rendered,
    finish_remote,
    plan_remote,
    render_bodies,
)
from feedsvc.publish.plan import FeedPlan, RunContext, Unchanged, plan_feed
from feedsvc.publish.renderpool import RenderPool
from feedsvc.publish.saver import Done, Saver, save_feed
from feedsvc.publish.snapshot import Snapshot
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

SnapshotListener = Callable[[Snapshot], object]
RunObserver = Callable[["RunResult"], object]
# The key in RunResult.failed of a run that could not finish at all (no feed is named "*").
WHOLE_RUN = "*"
# Dirty feeds from which a run saves each feed on a thread of its own while the next renders.
PIPELINE_AFTER = 8


@dataclass
class RunResult:
    """What one regeneration run did."""

    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


class Regenerator:
    """Renders changed feeds into snapshots; safe to run from several processes at once."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        listeners: Iterable[SnapshotListener] = (),
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.listeners = list(listeners)
        self.last_success: datetime | None = None
        self.runs = 0
        self.failures = 0
        # Runs with at least this many feeds to look at save on a second thread (Saver);
        # smaller ones (a publish: its category and all) stay on one.
        self.pipeline_after = PIPELINE_AFTER
        self.run_observers: list[RunObserver] = []
        # The render process large runs hand their items to; started with the scheduler.
        self.pool = RenderPool()

    def start_pool(self) -> None:
        """Start the render process that large runs render their items in."""
        self.pool.start()

    def stop_pool(self) -> None:
        """Stop the render process (large runs render here again)."""
        self.pool.stop()

    def run(self, only: str | None = None, force: bool = False) -> RunResult:
        """Regenerate every changed feed (or only ``only``; ``force``: even if unchanged)."""
        started = time.perf_counter()
        try:
            result = self._run(only, force, started)
        except Exception as exc:
            # A run that cannot finish (database gone) is a failed run: observed, then raised.
            failed = {WHOLE_RUN: f"{type(exc).__name__}: {exc}"}
            self._observe(RunResult(failed=failed, seconds=time.perf_counter() - started))
            raise
        self._observe(result)
        return result

    def _observe(self, result: RunResult) -> None:
        for observer in self.run_observers:
            try:
                observer(result)
            except Exception:
                log.exception("regenerate: a run observer failed")

    def _run(self, only: str | None, force: bool, started: float) -> RunResult:
        result = RunResult()
        now = self.clock.now()
        todo = self._changed_feeds(only, force, now)
        if todo:
            self._render_all(self._new_run(now, force), todo, result)
        self.runs += 1
        if result.rendered:
            with self.db.writing() as session:
                store.bump_counter(session, "snapshots")
        if result.ok:
            self.last_success = self.clock.now()
            with self.db.writing() as session:
                store.set_meta(session, "last_success", self.last_success.isoformat())
        else:
            self.failures += 1
        result.seconds = time.perf_counter() - started
        return result

    def _changed_feeds(self, only: str | None, force: bool, now: datetime) -> list[tuple[str, int]]:
        """The feeds to look at, by key, each with the change sequence it is rendered up to."""
        with self.db.writing() as session:
            self._note_embargoes(session, now)
            self._note_settings(session)
            dirty = store.dirty_feeds(session)
            if force:
                keys = [only] if only else store.feed_keys(session)
                seq = store.read_counter(session, "changes")
                dirty = {key: dirty.get(key, seq) for key in keys}
        if only is not None:
            dirty = {k: v for k, v in dirty.items() if k == only}
        return sorted(dirty.items())

    def _new_run(self, now: datetime, force: bool) -> RunContext:
        """What the run's feeds share: the settings, the instant, the categories (read once)."""
        with self.db.reading() as session:
            categories = {c.slug: c for c in store.list_categories(session)}
        return RunContext(self.settings, now, force, categories)

    def _note_embargoes(self, session: Session, now: datetime) -> None:
        """Feeds gain an item when an embargo ends: mark them changed."""
        checked = store.get_meta(session, "embargo_checked_until")
        if checked is not None:
            lifted = store.embargo_lifted(session, datetime.fromisoformat(checked), now)
            if lifted:
                store.mark_feeds_changed(session, sorted(lifted))
        store.set_meta(session, "embargo_checked_until", now.isoformat())

    def _note_settings(self, session: Session) -> None:
        """A changed setting (base URL, items per feed, …) changes every feed."""
        current = self.settings.fingerprint()
        if store.get_meta(session, "settings_fingerprint") != current:
            store.mark_feeds_changed(session, None)
            store.set_meta(session, "settings_fingerprint", current)

    def _render_all(self, run: RunContext, todo: list[tuple[str, int]], result: RunResult) -> None:
        """Render and save the feeds of ``todo``, in order; large runs save on a second thread
        and render their items in the render process (when it runs)."""
        save = partial(self._save, result=result, created_at=run.now)
        if len(todo) < self.pipeline_after:
            self._render_here(run, todo, result, save)
            return
        with Saver(save) as saver:
            if self.pool.new_run():
                self._render_remote(run, todo, result, saver.put)
            else:
                self._render_here(run, todo, result, saver.put)

    def _render_here(
        self,
        run: RunContext,
        todo: list[tuple[str, int]],
        result: RunResult,
        save: Callable[[Done], None],
    ) -> None:
        """Plan and render each feed in this thread, and hand it to ``save``."""
        for key, seq in todo:
            try:
                plan = plan_feed(self.db, run, key, seq)
                if isinstance(plan, Unchanged):
                    done: Done = plan
                else:
                    done = Rendered.of(plan, render_bodies(plan, run.items))
            except Exception as exc:  # one broken feed must never stop the others
                self._failed(key, exc, result)
                continue
            save(done)

    def _render_remote(
        self,
        run: RunContext,
        todo: list[tuple[str, int]],
        result: RunResult,
        save: Callable[[Done], None],
    ) -> None:
        """Like :meth:`_render_here`, the items rendered in the render process: while it renders
        one feed, this thread plans the next and finishes the last."""
        waiting: deque[_Sent | Unchanged] = deque()
        try:
            for key, seq in todo:
                try:
                    waiting.append(self._send(plan_feed(self.db, run, key, seq), run))
                except Exception as exc:  # one broken feed must never stop the others
                    self._failed(key, exc, result)
                while len(waiting) > 1:
                    self._finish(waiting.popleft(), run, result, save)
            while waiting:
                self._finish(waiting.popleft(), run, result, save)
        finally:
            self.pool.end_run()

    def _send(self, plan: FeedPlan | Unchanged, run: RunContext) -> _Sent | Unchanged:
        """Send the plan's unknown items to the render process (nothing when unchanged)."""
        if isinstance(plan, Unchanged):
            return plan
        job = plan_remote(plan, run.items)
        return _Sent(job, self.pool.send(job.sent, job.sent_keys))

    def _finish(
        self,
        sent: _Sent | Unchanged,
        run: RunContext,
        result: RunResult,
        save: Callable[[Done], None],
    ) -> None:
        """Take the feed's parts back (or render it here) and hand it to ``save``."""
        if isinstance(sent, Unchanged):
            save(sent)
            return
        plan = sent.job.plan
        try:
            parts = None if sent.number is None else self.pool.receive(sent.number)
            if parts is None:  # the process is gone: render here, from the plan alone
                bodies = render_bodies(plan, run.items)
            else:
                bodies = finish_remote(sent.job, parts, run.items)
        except Exception as exc:  # one broken feed must never stop the others
            self._failed(plan.key, exc, result)
            return
        save(Rendered.of(plan, bodies))

    def _failed(self, key: str, exc: Exception, result: RunResult) -> None:
        log.error("regenerate: feed %r failed; its last good snapshot stays", key, exc_info=exc)
        result.failed[key] = f"{type(exc).__name__}: {exc}"

    def _save(self, done: Done, result: RunResult, created_at: datetime) -> None:
        """Save a rendered feed (or only mark an unchanged one rendered); tell the listeners."""
        key = done.key
        try:
            snapshot = save_feed(self.db, done, created_at)
        except Exception as exc:  # one broken feed must never stop the others
            self._failed(key, exc, result)
            return
        if snapshot is None:
            result.unchanged.append(key)
            return
        result.rendered.append(key)
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:
                log.exception("regenerate: a listener failed for feed %r", key)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A plan sent to the render process, until its parts come back."""

    job: RemoteJob
    number: int | None  # the job's number; None: the process is gone, render it here
