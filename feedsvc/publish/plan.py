"""Plans: what regenerating one feed takes, decided from the store before anything is rendered.

A run makes one :class:`RunContext`; :func:`plan_feed` reads a feed and returns its
:class:`FeedPlan` (or :class:`Unchanged`); :mod:`feedsvc.publish.assemble` renders the plan, here
or in the render process, and :mod:`feedsvc.publish.saver` saves the result. Each step gets what
it needs as a value from the step before: nothing about one feed is left on the regenerator for
the next step to find.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from feedsvc import store
from feedsvc.config import Settings
from feedsvc.http.cache_policy import CachePolicy
from feedsvc.publish.feed_builder import build_feed, fingerprint
from feedsvc.publish.reuse import ItemBytes, KeyMemo, RunItems, item_keys
from feedsvc.publish.snapshot import Snapshot, bundle_items
from feedsvc.render.feed import Feed
from feedsvc.store.db import Database
from feedsvc.store.models import Category

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """What every feed of one run shares; made when the run starts, dropped when it ends."""

    settings: Settings
    now: datetime  # the instant the run renders (visibility, Last-Modified, created_at)
    force: bool  # render even the feeds whose content did not change
    categories: dict[str, Category]  # read once per run, not once per feed
    items: RunItems = field(default_factory=RunItems)

    @property
    def names(self) -> dict[str, str]:
        """Category names by slug."""
        return {slug: c.name for slug, c in self.categories.items()}


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A feed with nothing to render: only its change sequence ``seq`` is recorded rendered."""

    key: str
    seq: int


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """One changed feed, ready to render: the Feed, the snapshot it will fill and what it may
    reuse from the snapshot it replaces."""

    key: str
    seq: int  # the change sequence to record as rendered
    feed: Feed
    snapshot: Snapshot  # version, validators, fingerprint and item keys; no formats yet
    previous_version: int | None  # the version it replaces (compare-and-set); None: the first
    previous_items: ItemBytes  # the replaced snapshot's item bytes, by format and item key


def plan_feed(db: Database, run: RunContext, key: str, seq: int) -> FeedPlan | Unchanged:
    """The plan of feed ``key``: Unchanged when its content has not changed (and the run is not
    forced) or its category is gone."""
    settings = run.settings
    names = run.names
    with db.reading() as session:
        category = None
        if key != store.ALL:
            category = run.categories.get(key) or store.get_category(session, key)
            if category is None:
                return Unchanged(key, seq)
        articles = store.visible_article_rows(session, key, run.now, settings.feed_items)
        fp = fingerprint(settings, category, articles, names)
        previous = store.snapshot_head(session, key)
        if previous is not None and previous.fingerprint == fp and not run.force:
            return Unchanged(key, seq)
        lm, exact = next_last_modified(previous, run.now)
        modified = datetime.fromtimestamp(lm, UTC)
        feed = build_feed(settings, key, category, articles, names, modified, run.items.built)
        previous_items = _previous_items(session, key)
    version = 1 if previous is None else previous.version + 1
    snapshot = new_snapshot(
        feed, key, version, fp, lm, exact, run.items.keys, policy=settings.cache_policy
    )
    before = None if previous is None else previous.version
    return FeedPlan(key, seq, feed, snapshot, before, previous_items)


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


def new_snapshot(
    feed: Feed,
    key: str,
    version: int,
    fp: str,
    lm: int,
    exact: bool,
    memo: KeyMemo | None = None,
    *,
    policy: CachePolicy | None = None,
) -> Snapshot:
    """The snapshot ``feed`` will fill: its version, validators, item keys and what it tells
    shared caches (``policy``; None: ``public, max-age`` alone), no formats yet."""
    return Snapshot(
        key=key,
        version=version,
        last_modified=lm,
        lm_exact=exact,
        fingerprint=fp,
        cache_max_age=feed.max_age,
        item_keys=item_keys(feed, memo),
        cache_control="" if policy is None else policy.cache_control(feed.max_age),
        surrogate_headers=() if policy is None else policy.surrogate_headers,
    )


def _previous_items(session: Session, key: str) -> ItemBytes:
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
