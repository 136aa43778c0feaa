"""Regeneration: find the feeds whose content changed, render every format, save snapshots.

The scheduler, the ``regenerate`` command and the tests all call :meth:`Regenerator.run`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.publish.assemble import (
    Body,
    RemoteJob,
    RenderedItems,
    complete,
    finish_remote,
    new_snapshot,
    plan_remote,
    render_bodies,
)
from feedsvc.publish.feed_builder import build_feed, fingerprint
from feedsvc.publish.renderpool import RenderPool
from feedsvc.publish.snapshot import Snapshot, bundle_items, to_bundle
from feedsvc.render.feed import Feed
from feedsvc.store.db import Database
from feedsvc.store.models import Category, FeedSnapshot

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


def next_last_modified(previous: store.SnapshotHead | None, now: datetime) -> tuple[int, bool]:
    """Last-Modified of a new version: the second of the change, never backwards.

    When the feed already changed within that second, the second is kept and marked inexact, so
    an If-Modified-Since equal to it gets 200 (RFC 9110 §8.8.2.2).
    """
    second = int(now.timestamp())
    if previous is None:
        return second, True
    before = int(previous.last_modified.timestamp())
    if second <= before:
        return before, False
    return second, True


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
        # Runs with at least this many feeds to look at save on a second thread (_Saver);
        # smaller ones (a publish: its category and all) stay on one.
        self.pipeline_after = PIPELINE_AFTER
        self.run_observers: list[RunObserver] = []
        self._categories: dict[str, Category] | None = None
        self._reuse = RenderedItems()
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
        # Per run: the categories (read once, not once per feed) and the items rendered.
        self._categories = None
        self._reuse = RenderedItems()
        try:
            return self._run_feeds(only, force, started)
        finally:
            self._reuse = RenderedItems()  # the run's items are not kept between runs

    def _run_feeds(self, only: str | None, force: bool, started: float) -> RunResult:
        result = RunResult()
        now = self.clock.now()
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
        todo = sorted(dirty.items())
        if len(todo) >= self.pipeline_after:
            with _Saver(partial(self._save, result=result)) as saver:
                if self.pool.new_run():
                    self._run_remote(todo, now, result, force, saver.put)
                else:
                    for key, seq in todo:
                        self._regenerate_one(key, seq, now, result, force, saver.put)
        else:
            for key, seq in todo:
                self._regenerate_one(
                    key, seq, now, result, force, partial(self._save, result=result)
                )
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

    def _regenerate_one(
        self,
        key: str,
        seq: int,
        now: datetime,
        result: RunResult,
        force: bool,
        save: Callable[[_Rendered], None],
    ) -> None:
        """Render one feed if it changed and hand it to ``save`` (which also marks it rendered)."""
        try:
            rendered = self._render_if_changed(key, seq, now, force)
        except Exception as exc:  # one broken feed must never stop the others
            self._failed(key, exc, result)
            return
        save(rendered)

    def _run_remote(
        self,
        todo: list[tuple[str, int]],
        now: datetime,
        result: RunResult,
        force: bool,
        save: Callable[[_Rendered], None],
    ) -> None:
        """Like :meth:`_regenerate_one` for each feed, the items rendered in the render
        process: while it renders one feed, this thread reads the next and finishes the last."""
        waiting: deque[_Remote] = deque()
        try:
            for key, seq in todo:
                try:
                    waiting.append(self._send(key, seq, now, force))
                except Exception as exc:  # one broken feed must never stop the others
                    self._failed(key, exc, result)
                while len(waiting) > 1:
                    self._finish(waiting.popleft(), result, save)
            while waiting:
                self._finish(waiting.popleft(), result, save)
        finally:
            self.pool.end_run()

    def _send(self, key: str, seq: int, now: datetime, force: bool) -> _Remote:
        """Prepare the feed and send its items to the render process (if it changed)."""
        prepared = self._prepare(key, now, force)
        if prepared is None:
            return _Remote(_Rendered(key, seq, now))
        feed, snapshot, before = prepared
        job = plan_remote(feed, snapshot, self._reuse)
        sent = self.pool.send(job.sent, job.sent_keys)
        return _Remote(_Rendered(key, seq, now, previous_version=before), job, sent)

    def _finish(
        self, remote: _Remote, result: RunResult, save: Callable[[_Rendered], None]
    ) -> None:
        """Take the feed's parts back (or render it here) and hand it to ``save``."""
        rendered, job = remote.rendered, remote.job
        if job is not None:
            try:
                parts = None if remote.sent is None else self.pool.receive(remote.sent)
                if parts is None:  # the process is gone: render here
                    rendered.bodies = render_bodies(job.feed, job.snapshot, self._reuse)
                else:
                    rendered.bodies = finish_remote(job, parts, self._reuse)
            except Exception as exc:  # one broken feed must never stop the others
                self._failed(rendered.key, exc, result)
                return
            rendered.snapshot = job.snapshot
        save(rendered)

    def _failed(self, key: str, exc: Exception, result: RunResult) -> None:
        log.error("regenerate: feed %r failed; its last good snapshot stays", key, exc_info=exc)
        result.failed[key] = f"{type(exc).__name__}: {exc}"

    def _save(self, rendered: _Rendered, result: RunResult) -> None:
        """Save a rendered feed (or only mark an unchanged one rendered); tell the listeners."""
        key = rendered.key
        try:
            snapshot = self._store(rendered)
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

    def _previous_items(self, session: Session, key: str) -> dict[str, dict[str, bytes]]:
        """The items of the feed's stored snapshot, by format and key (none if unreadable)."""
        bundle = store.snapshot_bundle(session, key)
        if bundle is None:
            return {}
        try:
            return bundle_items(bundle)
        except (ValueError, KeyError, TypeError):
            # An unreadable bundle only costs a full render; the new snapshot replaces it.
            log.warning("regenerate: stored snapshot of %r unreadable; rendering it whole", key)
            return {}

    def _render_if_changed(self, key: str, seq: int, now: datetime, force: bool) -> _Rendered:
        """The feed's bodies if its content changed (else nothing to save, only ``seq``)."""
        prepared = self._prepare(key, now, force)
        if prepared is None:
            return _Rendered(key, seq, now)
        feed, snapshot, before = prepared
        bodies = render_bodies(feed, snapshot, self._reuse)
        return _Rendered(key, seq, now, snapshot, bodies, before)

    def _store(self, rendered: _Rendered) -> Snapshot | None:
        """Complete and save the snapshot and record ``seq`` rendered, in one transaction (one
        commit of the bundle); the snapshot, or None when there was none or another process
        saved this version first."""
        if rendered.snapshot is None:
            with self.db.writing() as session:
                store.mark_rendered(session, rendered.key, rendered.seq)
            return None
        snapshot = complete(rendered.snapshot, rendered.bodies)
        row = FeedSnapshot(
            key=snapshot.key,
            version=snapshot.version,
            fingerprint=snapshot.fingerprint,
            last_modified=datetime.fromtimestamp(snapshot.last_modified, UTC),
            lm_exact=snapshot.lm_exact,
            created_at=rendered.now,
            bundle=to_bundle(snapshot),
        )
        with self.db.writing() as session:
            saved = store.save_snapshot(session, row, rendered.previous_version)
            store.mark_rendered(session, rendered.key, rendered.seq)
        if not saved:
            log.info("regenerate: feed %r was rendered by another process first", rendered.key)
            return None
        return snapshot

    def _prepare(
        self, key: str, now: datetime, force: bool
    ) -> tuple[Feed, Snapshot, int | None] | None:
        """The feed to render, its new snapshot (version, validators, item keys; no formats
        yet) and the version it replaces; None when it has not changed (or its category is
        gone)."""
        with self.db.reading() as session:
            if self._categories is None:
                self._categories = {c.slug: c for c in store.list_categories(session)}
            category = None
            if key != store.ALL:
                category = self._categories.get(key) or store.get_category(session, key)
                if category is None:
                    return None
            names = {slug: c.name for slug, c in self._categories.items()}
            articles = store.visible_article_rows(session, key, now, self.settings.feed_items)
            fp = fingerprint(self.settings, category, articles, names)
            previous = store.snapshot_head(session, key)
            if previous is not None and previous.fingerprint == fp and not force:
                return None
            lm, exact = next_last_modified(previous, now)
            modified = datetime.fromtimestamp(lm, UTC)
            built = self._reuse.items
            feed = build_feed(self.settings, key, category, articles, names, modified, built)
            self._reuse.previous = self._previous_items(session, key)
        version = 1 if previous is None else previous.version + 1
        snapshot = new_snapshot(feed, key, version, fp, lm, exact, self._reuse)
        return feed, snapshot, None if previous is None else previous.version


@dataclass
class _Rendered:
    """A feed whose rendering is over; saving it is what is left."""

    key: str
    seq: int  # the change sequence to record as rendered
    now: datetime
    snapshot: Snapshot | None = None  # None: unchanged, only record seq
    bodies: list[Body] = field(default_factory=list)
    previous_version: int | None = None  # the version this one replaces (compare-and-set)


@dataclass
class _Remote:
    """A feed of a run that renders in the render process, until its parts come back."""

    rendered: _Rendered  # without snapshot and bodies yet
    job: RemoteJob | None = None  # None: unchanged, nothing to render
    sent: int | None = None  # the job's number; None: the process is gone, render it here


class _Saver:
    """Saves rendered feeds, in the order given, on a thread of its own.

    Compressing, hashing and SQLite's writes release the GIL, so saving one feed overlaps the
    rendering of the next (pure Python) on a second core; a full regeneration of 100 categories
    spends about a third of its time saving. Each feed is still saved in one transaction, whole
    or not at all, and listeners hear of it from this thread.
    """

    def __init__(self, save: Callable[[_Rendered], None]) -> None:
        self._save = save
        # Two feeds ahead at most: enough to keep both busy, little memory held.
        self._queue: queue.Queue[_Rendered | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._loop, name="regenerate-saver", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> _Saver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise self._error

    def put(self, rendered: _Rendered) -> None:
        """Queue a rendered feed (waits while two are queued)."""
        self._queue.put(rendered)

    def _loop(self) -> None:
        while (rendered := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so the renderer never waits on a full queue
            try:
                self._save(rendered)
            except BaseException as exc:  # _save catches a feed's errors; this is a bug
                self._error = exc
