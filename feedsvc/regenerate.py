"""Regeneration: find the feeds whose content changed, render every format, save snapshots.

The scheduler, the ``regenerate`` command and the tests all call :meth:`Regenerator.run`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.db import Database
from feedsvc.feed import Feed
from feedsvc.feedmodel import RENDERER_VERSION, build_feed, fingerprint
from feedsvc.models import FeedSnapshot
from feedsvc.render import MEDIA_TYPES, PAGES, RENDERERS, Parts, Renderer
from feedsvc.snapshot import ItemSpans, Snapshot, bundle_items, make_entry, to_bundle

log = logging.getLogger(__name__)

SnapshotListener = Callable[[Snapshot], object]
RunObserver = Callable[["RunResult"], object]
# The key in RunResult.failed of a run that could not finish at all (no feed is named "*").
WHOLE_RUN = "*"


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


class RenderedItems:
    """Item bytes a regeneration may reuse instead of rendering them again.

    An item's bytes depend only on the item and the settings (every renderer declares its
    namespaces on the root and cuts items out whole; tests/test_incremental.py holds them to it),
    so they are keyed by :func:`item_keys` and taken from the feed's previous snapshot, or from a
    feed rendered earlier in the same run (a new article is in its category's feed and in
    ``all``). A changed feed then renders its head, its new items and its tail, and the cost of a
    regeneration follows what changed, not the size of the feed or of the archive.
    """

    def __init__(self) -> None:
        self.shared: dict[str, dict[str, bytes]] = {}  # rendered during this run
        self.previous: dict[str, dict[str, bytes]] = {}  # the feed's stored snapshot

    def known(self, fmt: str) -> Mapping[str, bytes]:
        """Every reusable item of ``fmt``, by key."""
        return ChainMap(self.shared.setdefault(fmt, {}), self.previous.get(fmt, {}))

    def add(self, fmt: str, fresh: Mapping[str, bytes]) -> None:
        """Remember items rendered now, for the next feeds of this run."""
        self.shared.setdefault(fmt, {}).update(fresh)


def item_keys(feed: Feed) -> tuple[str, ...]:
    """One key per item naming everything its bytes are rendered from: the item itself, the
    feed-wide settings and the renderer version (not the feed's own title, key or date)."""
    context = repr(
        (
            RENDERER_VERSION,
            feed.base_url,
            feed.site_url,
            feed.site_title,
            feed.timezone,
            feed.hub_url,
            feed.language,
            feed.generator,
            feed.icon_url,
            feed.logo_url,
            feed.max_age,
            sorted(feed.extra.items()),
        )
    )
    return tuple(
        hashlib.blake2b(
            (context + repr(item)).encode("utf-8", "surrogatepass"), digest_size=16
        ).hexdigest()
        for item in feed.items
    )


def _render_parts(
    renderer: Renderer, feed: Feed, keys: tuple[str, ...], known: Mapping[str, bytes]
) -> tuple[Parts, dict[str, bytes]]:
    """The feed's parts, rendering only the items not known yet; also returns those."""
    missing = [i for i, key in enumerate(keys) if key not in known]
    if len(missing) == len(keys):
        parts = renderer.render_parts(feed)
    else:
        parts = renderer.render_parts(replace(feed, items=tuple(feed.items[i] for i in missing)))
    fresh = dict(zip((keys[i] for i in missing), parts.items, strict=True))
    items = tuple(fresh[key] if key in fresh else known[key] for key in keys)
    return Parts(parts.head, items, parts.tail, parts.sep), fresh


def render_snapshot(
    feed: Feed,
    key: str,
    version: int,
    fp: str,
    lm: int,
    exact: bool,
    reuse: RenderedItems | None = None,
) -> Snapshot:
    """Render every format of a feed and prepare its variants (bytes, gzip, ETags, headers).

    With ``reuse``, items already rendered are spliced in rather than rendered again.
    """
    keys = item_keys(feed)
    snapshot = Snapshot(
        key=key,
        version=version,
        last_modified=lm,
        lm_exact=exact,
        fingerprint=fp,
        cache_max_age=feed.max_age,
        item_keys=keys,
    )
    for fmt, renderer in RENDERERS.items():
        parts, fresh = _render_parts(renderer, feed, keys, reuse.known(fmt) if reuse else {})
        if reuse is not None:
            reuse.add(fmt, fresh)
        body, spans = _join(parts.head, parts.items, parts.tail, parts.sep)
        links: tuple[str, ...] = ()
        if feed.hub_url:
            # WebSub §4: exactly one hub and one self link on every feed response.
            links = (f'<{feed.hub_url}>; rel="hub"', f'<{feed.url(fmt)}>; rel="self"')
        snapshot.formats[fmt] = make_entry(
            fmt, MEDIA_TYPES[fmt], body, snapshot, spans, links=links
        )
    for fmt, (page, content_type) in PAGES.items():
        snapshot.formats[fmt] = make_entry(fmt, content_type, page.render(feed), snapshot, None)
    return snapshot


def _join(head: bytes, items: Iterable[bytes], tail: bytes, sep: bytes) -> tuple[bytes, ItemSpans]:
    chunks = [head]
    spans = []
    offset = len(head)
    for i, item in enumerate(items):
        if i:
            chunks.append(sep)
            offset += len(sep)
        spans.append((offset, offset + len(item)))
        chunks.append(item)
        offset += len(item)
    chunks.append(tail)
    return b"".join(chunks), ItemSpans(len(head), tuple(spans), offset, sep)


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
        self.run_observers: list[RunObserver] = []
        self._names: dict[str, str] | None = None
        self._reuse = RenderedItems()

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
        # Per run: the category names (read once, not once per feed) and the items rendered.
        self._names = None
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
        for key, seq in sorted(dirty.items()):
            self._regenerate_one(key, seq, now, result, force)
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

    def _note_embargoes(self, session: store.Session, now: datetime) -> None:
        """Feeds gain an item when an embargo ends: mark them changed."""
        checked = store.get_meta(session, "embargo_checked_until")
        if checked is not None:
            lifted = store.embargo_lifted(session, datetime.fromisoformat(checked), now)
            if lifted:
                store.mark_feeds_changed(session, sorted(lifted))
        store.set_meta(session, "embargo_checked_until", now.isoformat())

    def _note_settings(self, session: store.Session) -> None:
        """A changed setting (base URL, items per feed, …) changes every feed."""
        current = self.settings.fingerprint()
        if store.get_meta(session, "settings_fingerprint") != current:
            store.mark_feeds_changed(session, None)
            store.set_meta(session, "settings_fingerprint", current)

    def _regenerate_one(
        self, key: str, seq: int, now: datetime, result: RunResult, force: bool
    ) -> None:
        try:
            snapshot = self._render_if_changed(key, now, force)
        except Exception as exc:  # one broken feed must never stop the others
            log.exception("regenerate: feed %r failed; its last good snapshot stays", key)
            result.failed[key] = f"{type(exc).__name__}: {exc}"
            return
        with self.db.writing() as session:
            store.mark_rendered(session, key, seq)
        if snapshot is None:
            result.unchanged.append(key)
            return
        result.rendered.append(key)
        for listener in self.listeners:
            try:
                listener(snapshot)
            except Exception:
                log.exception("regenerate: a listener failed for feed %r", key)

    def _previous_items(self, session: store.Session, key: str) -> dict[str, dict[str, bytes]]:
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

    def _render_if_changed(self, key: str, now: datetime, force: bool) -> Snapshot | None:
        with self.db.reading() as session:
            category = None if key == store.ALL else store.get_category(session, key)
            if key != store.ALL and category is None:
                return None
            if self._names is None:
                self._names = {c.slug: c.name for c in store.list_categories(session)}
            names = self._names
            articles = store.visible_articles(session, key, now, self.settings.feed_items)
            fp = fingerprint(self.settings, category, articles, names)
            previous = store.snapshot_head(session, key)
            if previous is not None and previous.fingerprint == fp and not force:
                return None
            lm, exact = next_last_modified(previous, now)
            feed = build_feed(
                self.settings, key, category, articles, names, datetime.fromtimestamp(lm, UTC)
            )
            self._reuse.previous = self._previous_items(session, key)
        version = 1 if previous is None else previous.version + 1
        snapshot = render_snapshot(feed, key, version, fp, lm, exact, self._reuse)
        row = FeedSnapshot(
            key=key,
            version=version,
            fingerprint=fp,
            last_modified=datetime.fromtimestamp(lm, UTC),
            lm_exact=exact,
            created_at=now,
            bundle=to_bundle(snapshot),
        )
        with self.db.writing() as session:
            saved = store.save_snapshot(
                session, row, None if previous is None else previous.version
            )
        if not saved:
            log.info("regenerate: feed %r was rendered by another process first", key)
            return None
        return snapshot
