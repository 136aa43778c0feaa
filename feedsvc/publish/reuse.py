"""Item reuse: an item's bytes are rendered once and spliced into every feed that shows it.

Every renderer declares its namespaces on the root and cuts items out whole (tests hold them to
it), so an item's bytes depend only on the item and the feed-wide settings. Each item gets a key
that is a digest of exactly those (:func:`item_keys`); a feed then renders its head, the items
whose keys are not known yet, and its tail, and takes the other items' bytes from the feed's
previous snapshot or from a feed rendered earlier in the same run (a new article is in its
category's feed and in ``all``). The cost of a regeneration follows what changed, not the size of
the feed or of the archive.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from feedsvc.publish.feed_builder import RENDERER_VERSION
from feedsvc.render import Parts, Renderer
from feedsvc.render.feed import Feed, Item

# Item bytes by format, then by item key (what a stored snapshot's bundle holds).
ItemBytes = dict[str, dict[str, bytes]]
# Item keys remembered by Item object: the object (so a reused id() is noticed), its context, key.
KeyMemo = dict[int, tuple[Item, str, str]]


class RunItems:
    """What the feeds of one run share, so that no item is built, keyed or rendered twice.

    Made at the start of a run and dropped at its end: nothing is kept between runs.
    """

    def __init__(self) -> None:
        self.rendered: ItemBytes = {}  # item bytes rendered during this run
        self.built: dict[tuple[str, datetime], Item] = {}  # Items by article version
        self.keys: KeyMemo = {}  # item keys by Item object (feeds share Item objects)

    def known(self, fmt: str, previous: ItemBytes | None = None) -> Mapping[str, bytes]:
        """Every reusable item of ``fmt`` by key: rendered in this run, or in ``previous``
        (the items of the feed's stored snapshot)."""
        earlier = {} if previous is None else previous.get(fmt, {})
        return ChainMap(self.rendered.setdefault(fmt, {}), earlier)

    def add(self, fmt: str, fresh: Mapping[str, bytes]) -> None:
        """Remember items rendered now, for the next feeds of this run."""
        self.rendered.setdefault(fmt, {}).update(fresh)


def item_keys(feed: Feed, memo: KeyMemo | None = None) -> tuple[str, ...]:
    """One key per item of ``feed``: the content digest of everything its bytes come from.

    The rule reuse rests on: a key digests the item itself (every field, or the stored record's
    digest that stands for them, plus its category names), the feed-wide settings and
    :data:`RENDERER_VERSION`, and nothing else (not the feed's own title, key or date). Equal keys
    therefore mean equal bytes in every format, so an item's bytes may be taken from any feed or
    snapshot that holds its key, whichever feed it was rendered for.

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
    fields: list[str | None]
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


def render_reusing(
    renderer: Renderer, feed: Feed, keys: tuple[str, ...], known: Mapping[str, bytes]
) -> tuple[Parts, dict[str, bytes]]:
    """The feed's parts, rendering only the items not ``known`` yet; also returns those."""
    missing = [i for i, key in enumerate(keys) if key not in known]
    parts = renderer.render_parts(cut(feed, missing))
    return splice(parts, keys, tuple(keys[i] for i in missing), known)


def cut(feed: Feed, indexes: list[int]) -> Feed:
    """The feed with only the items at ``indexes`` (the feed itself when that is all of them)."""
    if len(indexes) == len(feed.items):
        return feed
    return replace(feed, items=tuple(feed.items[i] for i in indexes))


def splice(
    parts: Parts, keys: tuple[str, ...], new_keys: tuple[str, ...], known: Mapping[str, bytes]
) -> tuple[Parts, dict[str, bytes]]:
    """The whole feed's parts from ``parts``, whose items are those of ``new_keys``, and the
    ``known`` items of the other keys; also the new items by key."""
    fresh = dict(zip(new_keys, parts.items, strict=True))
    items = tuple(fresh[key] if key in fresh else known[key] for key in keys)
    return Parts(parts.head, items, parts.tail, parts.sep), fresh
