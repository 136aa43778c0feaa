"""Rendering a plan: the body of every format and page of a feed, items reused where their keys
are known (:mod:`feedsvc.publish.reuse`), rendered here or in the render process; then each
body's gzip, ETags and headers (:func:`complete`).

Pure work on values: :mod:`feedsvc.publish.regenerate` decides which feeds to render and
:mod:`feedsvc.publish.saver` stores them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from feedsvc.http.page_policy import page_headers
from feedsvc.publish.plan import FeedPlan
from feedsvc.publish.reuse import RunItems, cut, render_reusing, splice
from feedsvc.publish.snapshot import ItemSpans, Snapshot, make_entry
from feedsvc.render import MEDIA_TYPES, PAGES, RENDERERS, Parts
from feedsvc.render._common import cleaning_once
from feedsvc.render.feed import Feed


@dataclass(frozen=True, slots=True)
class Body:
    """One rendered format of a feed, before its gzip, ETags and headers."""

    fmt: str
    content_type: str
    data: bytes
    spans: ItemSpans | None  # None for pages (no ?limit)
    links: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # more 200 headers: a page's browser protections


@dataclass(frozen=True, slots=True)
class Rendered:
    """A feed whose rendering is over: what saving it takes."""

    key: str
    seq: int  # the change sequence to record as rendered
    snapshot: Snapshot  # the plan's snapshot; :func:`complete` adds the formats of ``bodies``
    bodies: list[Body]
    previous_version: int | None  # the version it replaces (compare-and-set)

    @classmethod
    def of(cls, plan: FeedPlan, bodies: list[Body]) -> Rendered:
        """The plan's feed with its bodies (the plan's Feed and reusable items are let go)."""
        return cls(plan.key, plan.seq, plan.snapshot, bodies, plan.previous_version)


def render_bodies(plan: FeedPlan, items: RunItems) -> list[Body]:
    """The body of each format and page of the plan's feed, reusing the items of the run and of
    the plan's previous snapshot; the items rendered now are added to ``items``."""
    feed, keys = plan.feed, plan.snapshot.item_keys
    bodies = []
    with cleaning_once():  # every format renders the same Item objects: clean them once
        for fmt, renderer in RENDERERS.items():
            known = items.known(fmt, plan.previous_items)
            parts, fresh = render_reusing(renderer, feed, keys, known)
            items.add(fmt, fresh)
            bodies.append(_body(feed, fmt, parts))
        bodies += _pages(feed)
    return bodies


@dataclass(frozen=True, slots=True)
class RemoteJob:
    """A plan whose items are rendered in the render process (:mod:`feedsvc.publish.renderpool`):
    ``sent`` holds the items not known in some format, ``sent_keys`` their keys."""

    plan: FeedPlan
    sent: Feed
    sent_keys: tuple[str, ...]


def plan_remote(plan: FeedPlan, items: RunItems) -> RemoteJob:
    """What to send to the render process for ``plan``."""
    keys = plan.snapshot.item_keys
    known = [items.known(fmt, plan.previous_items) for fmt in RENDERERS]
    wanted = [i for i, k in enumerate(keys) if any(k not in found for found in known)]
    return RemoteJob(plan, cut(plan.feed, wanted), tuple(keys[i] for i in wanted))


def render_items(sent: Feed, sent_keys: tuple[str, ...], cache: RunItems) -> dict[str, Parts]:
    """In the render process: every format's parts of ``sent``, rendering only the items not
    rendered earlier in this run (``cache``)."""
    out = {}
    with cleaning_once():
        for fmt, renderer in RENDERERS.items():
            parts, fresh = render_reusing(renderer, sent, sent_keys, cache.known(fmt))
            cache.add(fmt, fresh)
            out[fmt] = parts
    return out


def finish_remote(job: RemoteJob, remote: dict[str, Parts], items: RunItems) -> list[Body]:
    """:func:`render_bodies`' result from the render process's parts of ``job``.

    Every item not sent was known when the job was planned, and stays known: a run's items are
    only ever added to, and the plan holds its own previous items.
    """
    plan = job.plan
    bodies = []
    for fmt in RENDERERS:
        known = items.known(fmt, plan.previous_items)
        parts, fresh = splice(remote[fmt], plan.snapshot.item_keys, job.sent_keys, known)
        items.add(fmt, fresh)
        bodies.append(_body(plan.feed, fmt, parts))
    with cleaning_once():
        bodies += _pages(plan.feed)
    return bodies


def _body(feed: Feed, fmt: str, parts: Parts) -> Body:
    data, spans = _join(parts.head, parts.items, parts.tail, parts.sep)
    links: tuple[str, ...] = ()
    if feed.hub_url:
        # WebSub §4: exactly one hub and one self link on every feed response.
        links = (f'<{feed.hub_url}>; rel="hub"', f'<{feed.url(fmt)}>; rel="self"')
    return Body(fmt, MEDIA_TYPES[fmt], data, spans, links)


def _pages(feed: Feed) -> list[Body]:
    # Each page's Content-Security-Policy names the image hosts of exactly that page.
    return [
        Body(
            fmt, ctype, page.render(feed), None, (), page_headers(feed.base_url, page.images(feed))
        )
        for fmt, (page, ctype) in PAGES.items()
    ]


def complete(snapshot: Snapshot, bodies: Iterable[Body]) -> Snapshot:
    """The other half: each body's gzip, ETags and header lists, added to ``snapshot``."""
    for body in bodies:
        snapshot.formats[body.fmt] = make_entry(
            body.fmt,
            body.content_type,
            body.data,
            snapshot,
            body.spans,
            links=body.links,
            extra=body.extra,
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
