"""Feed renderers: one module per format behind one dispatch table.

Every renderer takes the plain :class:`~feedsvc.render.feed.Feed` and only writes bytes:
``render(feed) -> bytes`` and ``render_parts(feed) -> Parts`` (the same bytes cut around the
items, so ``?limit=N`` variants are spliced without rendering again). OPML, a different kind of
document, lives in :mod:`feedsvc.render.opml`.
"""

from __future__ import annotations

from typing import Protocol

from feedsvc.render import atom, jsonfeed, page, rss
from feedsvc.render._common import Parts
from feedsvc.render.feed import Feed


class Renderer(Protocol):
    """What each format module provides."""

    def render(self, feed: Feed) -> bytes: ...

    def render_parts(self, feed: Feed) -> Parts: ...


RENDERERS: dict[str, Renderer] = {"rss": rss, "atom": atom, "json": jsonfeed}

MEDIA_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


class PageRenderer(Protocol):
    """A page for people rendered from the same feed object (no item spans, no WebSub)."""

    def render(self, feed: Feed) -> bytes: ...

    def images(self, feed: Feed) -> tuple[str, ...]: ...


# Pages served like feeds from the same snapshot: format -> (renderer, Content-Type).
PAGES: dict[str, tuple[PageRenderer, str]] = {"html": (page, page.MEDIA_TYPE)}

__all__ = ["MEDIA_TYPES", "PAGES", "RENDERERS", "PageRenderer", "Parts", "Renderer"]
