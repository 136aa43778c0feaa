"""A feed's snapshot from its Feed: item keys, items reused rather than rendered again, the body
of every format and page, then gzip, ETags and headers (:func:`render_snapshot`).

Pure work on values: :mod:`feedsvc.publish.regenerate` decides which feeds to render and stores
them.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from feedsvc.publish.feed_builder import RENDERER_VERSION
from feedsvc.publish.snapshot import ItemSpans, Snapshot, make_entry
from feedsvc.render import MEDIA_TYPES, PAGES, RENDERERS, Parts, Renderer
from feedsvc.render._common import cleaning_once
from feedsvc.render.feed import Feed, Item


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
    if item.record_digest is not None:
        # Built from a stored record: its digest stands for every field the record gave the
        # item; the rest comes from the settings (in context) and the category names.
        fields = [context, "record", item.id, item.record_digest, *_category_fields(item)]
    else:
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
            *_category_fields(item),
            *(
                ("-",)
                if image is None
                else ("+", image.url, image.caption, image.mime_type, repr(image.length))
            ),
        ]
    text = "".join("-" if f is None else f"{len(f)}:{f}" for f in fields)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _category_fields(item: Item) -> list[str]:
    return [
        str(len(item.categories)),
        *(t for ref in item.categories for t in (ref.slug, ref.name)),
    ]


def _render_parts(
    renderer: Renderer, feed: Feed, keys: tuple[str, ...], known: Mapping[str, bytes]
) -> tuple[Parts, dict[str, bytes]]:
    """The feed's parts, rendering only the items not known yet; also returns those."""
    missing = [i for i, key in enumerate(keys) if key not in known]
    parts = renderer.render_parts(_cut(feed, missing))
    return _splice(parts, keys, tuple(keys[i] for i in missing), known)


def _cut(feed: Feed, indexes: list[int]) -> Feed:
    """The feed with only the items at ``indexes`` (the feed itself when that is all of them)."""
    if len(indexes) == len(feed.items):
        return feed
    return replace(feed, items=tuple(feed.items[i] for i in indexes))


def _splice(
    parts: Parts, keys: tuple[str, ...], new_keys: tuple[str, ...], known: Mapping[str, bytes]
) -> tuple[Parts, dict[str, bytes]]:
    """The whole feed's parts from ``parts``, whose items are those of ``new_keys``, and the
    ``known`` items of the other keys; also the new items by key."""
    fresh = dict(zip(new_keys, parts.items, strict=True))
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
    snapshot = new_snapshot(feed, key, version, fp, lm, exact, reuse)
    return complete(snapshot, render_bodies(feed, snapshot, reuse))


def new_snapshot(
    feed: Feed,
    key: str,
    version: int,
    fp: str,
    lm: int,
    exact: bool,
    reuse: RenderedItems | None = None,
) -> Snapshot:
    """The snapshot ``feed`` will fill: its version, validators and item keys, no formats yet."""
    return Snapshot(
        key=key,
        version=version,
        last_modified=lm,
        lm_exact=exact,
        fingerprint=fp,
        cache_max_age=feed.max_age,
        item_keys=item_keys(feed, reuse.keys if reuse else None),
    )


def render_bodies(feed: Feed, snapshot: Snapshot, reuse: RenderedItems | None = None) -> list[Body]:
    """The body of each format of ``feed``, to be given to :func:`complete` with ``snapshot``
    (from :func:`new_snapshot`)."""
    keys = snapshot.item_keys
    bodies = []
    with cleaning_once():  # every format renders the same Item objects: clean them once
        for fmt, renderer in RENDERERS.items():
            parts, fresh = _render_parts(renderer, feed, keys, reuse.known(fmt) if reuse else {})
            if reuse is not None:
                reuse.add(fmt, fresh)
            bodies.append(_body(feed, fmt, parts))
        bodies += _pages(feed)
    return bodies


@dataclass(frozen=True, slots=True)
class RemoteJob:
    """A feed whose items are rendered in the render process (:mod:`feedsvc.publish.renderpool`):
    ``sent`` holds the items this process does not know in some format, ``sent_keys`` theirs."""

    feed: Feed
    snapshot: Snapshot
    sent: Feed
    sent_keys: tuple[str, ...]
    known: dict[str, Mapping[str, bytes]]


def plan_remote(feed: Feed, snapshot: Snapshot, reuse: RenderedItems) -> RemoteJob:
    """What to send to the render process for ``feed``."""
    keys = snapshot.item_keys
    known = {fmt: reuse.known(fmt) for fmt in RENDERERS}
    wanted = [i for i, k in enumerate(keys) if any(k not in known[fmt] for fmt in RENDERERS)]
    sent_keys = tuple(keys[i] for i in wanted)
    return RemoteJob(feed, snapshot, _cut(feed, wanted), sent_keys, known)


def render_items(sent: Feed, sent_keys: tuple[str, ...], cache: RenderedItems) -> dict[str, Parts]:
    """In the render process: every format's parts of ``sent``, rendering only the items not
    rendered earlier in this run (``cache``)."""
    out = {}
    with cleaning_once():
        for fmt, renderer in RENDERERS.items():
            parts, fresh = _render_parts(renderer, sent, sent_keys, cache.known(fmt))
            cache.add(fmt, fresh)
            out[fmt] = parts
    return out


def finish_remote(job: RemoteJob, remote: dict[str, Parts], reuse: RenderedItems) -> list[Body]:
    """:func:`render_bodies`' result from the render process's parts of ``job``."""
    bodies = []
    for fmt in RENDERERS:
        parts, fresh = _splice(remote[fmt], job.snapshot.item_keys, job.sent_keys, job.known[fmt])
        reuse.add(fmt, fresh)
        bodies.append(_body(job.feed, fmt, parts))
    with cleaning_once():
        bodies += _pages(job.feed)
    return bodies


def _body(feed: Feed, fmt: str, parts: Parts) -> Body:
    data, spans = _join(parts.head, parts.items, parts.tail, parts.sep)
    links: tuple[str, ...] = ()
    if feed.hub_url:
        # WebSub §4: exactly one hub and one self link on every feed response.
        links = (f'<{feed.hub_url}>; rel="hub"', f'<{feed.url(fmt)}>; rel="self"')
    return Body(fmt, MEDIA_TYPES[fmt], data, spans, links)


def _pages(feed: Feed) -> list[Body]:
    return [Body(fmt, ctype, page.render(feed), None) for fmt, (page, ctype) in PAGES.items()]


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
