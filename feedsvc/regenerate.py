"""Regeneration: find the feeds whose content changed, render every format, save snapshots.

The scheduler, the ``regenerate`` command and the tests all call :meth:`Regenerator.run`.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.db import Database
from feedsvc.feed import Feed, Item
from feedsvc.feedmodel import RENDERER_VERSION, build_feed, fingerprint
from feedsvc.models import Category, FeedSnapshot
from feedsvc.render import MEDIA_TYPES, PAGES, RENDERERS, Parts, Renderer
from feedsvc.render._common import cleaning_once
from feedsvc.snapshot import ItemSpans, Snapshot, bundle_items, make_entry, to_bundle

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
        # Built during this run: items by article version, their keys by Item object.
        self.items: dict[tuple[str, datetime], Item] = {}
        self.keys: dict[int, tuple[Item, str, str]] = {}

    def known(self, fmt: str) -> Mapping[str, bytes]:
        """Every reusable item of ``fmt``, by key."""
        return ChainMap(self.shared.setdefault(fmt, {}), self.previous.get(fmt, {}))

    def add(self, fmt: str, fresh: Mapping[str, bytes]) -> None:
        """Remember items rendered now, for the next feeds of this run."""
        self.shared.setdefault(fmt, {}).update(fresh)


def item_keys(feed: Feed, memo: dict[int, tuple[Item, str, str]] | None = None) -> tuple[str, ...]:
    """One key per item naming everything its bytes are rendered from: the item itself, the
    feed-wide settings and the renderer version (not the feed's own title, key or date).

    ``memo`` remembers keys by Item object across the feeds of a run, which share Item objects.
    """
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
    if memo is None:
        return tuple(_item_key(context, item) for item in feed.items)
    keys = []
    for item in feed.items:
        seen = memo.get(id(item))
        if seen is None or seen[0] is not item or seen[1] != context:
            seen = memo[id(item)] = (item, context, _item_key(context, item))
        keys.append(seen[2])
    return tuple(keys)


def _item_key(context: str, item: Item) -> str:
    """The digest of ``context`` and every field of ``item``."""
    # Each field as "length:text" ("-" for None), so no two items give the same string; cheaper
    # than repr(), which escapes every character of a 5 kB body.
    image = item.image
    fields = [
        context,
        item.id,
        item.article_id,
        item.url,
        item.title,
        item.published.isoformat(),
        item.updated.isoformat(),
        item.summary,
        item.content_html,
        item.author,
        str(len(item.categories)),
        *(text for ref in item.categories for text in (ref.slug, ref.name)),
        *(
            ("-",)
            if image is None
            else ("+", image.url, image.caption, image.mime_type, repr(image.length))
        ),
    ]
    text = "".join("-" if f is None else f"{len(f)}:{f}" for f in fields)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


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


@dataclass(frozen=True, slots=True)
class Body:
    """One rendered format of a feed, before its gzip, ETags and headers."""

    fmt: str
    content_type: str
    data: bytes
    spans: ItemSpans | None  # None for pages (no ?limit)
    links: tuple[str, ...] = ()


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
    snapshot, bodies = render_bodies(feed, key, version, fp, lm, exact, reuse)
    return complete(snapshot, bodies)


def render_bodies(
    feed: Feed,
    key: str,
    version: int,
    fp: str,
    lm: int,
    exact: bool,
    reuse: RenderedItems | None = None,
) -> tuple[Snapshot, list[Body]]:
    """The rendering half of :func:`render_snapshot`: a snapshot without formats yet, and the
    body of each format, to be given to :func:`complete`."""
    keys = item_keys(feed, reuse.keys if reuse else None)
    snapshot = Snapshot(
        key=key,
        version=version,
        last_modified=lm,
        lm_exact=exact,
        fingerprint=fp,
        cache_max_age=feed.max_age,
        item_keys=keys,
    )
    bodies = []
    with cleaning_once():  # every format renders the same Item objects: clean them once
        for fmt, renderer in RENDERERS.items():
            parts, fresh = _render_parts(renderer, feed, keys, reuse.known(fmt) if reuse else {})
            if reuse is not None:
                reuse.add(fmt, fresh)
            data, spans = _join(parts.head, parts.items, parts.tail, parts.sep)
            links: tuple[str, ...] = ()
            if feed.hub_url:
                # WebSub §4: exactly one hub and one self link on every feed response.
                links = (f'<{feed.hub_url}>; rel="hub"', f'<{feed.url(fmt)}>; rel="self"')
            bodies.append(Body(fmt, MEDIA_TYPES[fmt], data, spans, links))
        for fmt, (page, content_type) in PAGES.items():
            bodies.append(Body(fmt, content_type, page.render(feed), None))
    return snapshot, bodies


def complete(snapshot: Snapshot, bodies: Iterable[Body]) -> Snapshot:
    """The other half: each body's gzip, ETags and header lists, added to ``snapshot``."""
    for body in bodies:
        snapshot.formats[body.fmt] = make_entry(
            body.fmt, body.content_type, body.data, snapshot, body.spans, links=body.links
        )
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
        # Runs with at least this many feeds to look at save on a second thread (_Saver);
        # smaller ones (a publish: its category and all) stay on one.
        self.pipeline_after = PIPELINE_AFTER
        self.run_observers: list[RunObserver] = []
        self._categories: dict[str, Category] | None = None
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
            log.exception("regenerate: feed %r failed; its last good snapshot stays", key)
            result.failed[key] = f"{type(exc).__name__}: {exc}"
            return
        save(rendered)

    def _save(self, rendered: _Rendered, result: RunResult) -> None:
        """Save a rendered feed (or only mark an unchanged one rendered); tell the listeners."""
        key = rendered.key
        try:
            snapshot = self._store(rendered)
        except Exception as exc:  # one broken feed must never stop the others
            log.exception("regenerate: feed %r failed; its last good snapshot stays", key)
            result.failed[key] = f"{type(exc).__name__}: {exc}"
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

    def _render_if_changed(self, key: str, seq: int, now: datetime, force: bool) -> _Rendered:
        """The feed's bodies if its content changed (else nothing to save, only ``seq``)."""
        prepared = self._prepare(key, now, force)
        if prepared is None:
            return _Rendered(key, seq, now)
        feed, fp, previous, lm, exact = prepared
        version = 1 if previous is None else previous.version + 1
        snapshot, bodies = render_bodies(feed, key, version, fp, lm, exact, self._reuse)
        before = None if previous is None else previous.version
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
    ) -> tuple[Feed, str, store.SnapshotHead | None, int, bool] | None:
        """The feed to render with its fingerprint, previous head and Last-Modified; None when
        it has not changed (or its category is gone)."""
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
        return feed, fp, previous, lm, exact


@dataclass
class _Rendered:
    """A feed whose rendering is over; saving it is what is left."""

    key: str
    seq: int  # the change sequence to record as rendered
    now: datetime
    snapshot: Snapshot | None = None  # None: unchanged, only record seq
    bodies: list[Body] = field(default_factory=list)
    previous_version: int | None = None  # the version this one replaces (compare-and-set)


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
