"""Atom 1.0 (RFC 4287): feedgen writes the feed-level elements, our own code the entries.

feedgen traps this module steps around: ``updated`` defaults to the clock (feed and entries).

Entries are not built with feedgen's ``FeedEntry``: ``content(type="CDATA")`` writes an invalid
``type`` attribute, its media extension wraps everything in ``media:group``, and entry links lose
their ``rel``/``type``/``length`` (a shadowed variable in ``FeedEntry.atom_entry``), so much of an
entry was corrected after it anyway, at the price of serialising the whole feed, parsing it back
and serialising it again. Each entry is written once as text (:data:`_xml.XML`), in
feedgen's element order, with lxml's escaping.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from feedsvc.render import _xml
from feedsvc.render._common import Parts, clean_feed, content_html, image_type, local_time, rfc3339
from feedsvc.render._xml import MEDIA_NS
from feedsvc.render.feed import Feed, Image, Item

MEDIA_TYPE = "application/atom+xml"

# Entries are in the Atom namespace, the feed's default one; Media RSS has its prefix "media",
# declared on the root by our extension.


def render(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8 bytes)."""
    return render_parts(feed).join()


def render_parts(feed: Feed) -> Parts:
    """The Atom document cut around its ``<entry>`` elements (see :class:`Parts`)."""
    feed = clean_feed(feed)
    root = _xml.parse(_generator(feed).atom_str(pretty=False))
    frame = _xml.frame(root, root)
    items = tuple(_entry(item, feed) for item in feed.items)
    return Parts(head=frame.head, items=items, tail=frame.tail, sep=frame.sep)


def feed_id(feed: Feed) -> str:
    """The feed's atom:id: its self URL, stable as long as FEEDSVC_BASE_URL is (RFC 4287 §4.2.6)."""
    return feed.url("atom")


def _generator(feed: Feed) -> FeedGenerator:
    """feedgen's part: the feed's metadata."""
    fg = FeedGenerator()
    fg.register_extension("feedsvc", _xml.namespace_extension({"media": MEDIA_NS}), None)
    fg.id(feed_id(feed))
    fg.title(feed.title)
    fg.subtitle(feed.description)
    fg.updated(local_time(feed.last_modified, feed.timezone))  # never the clock
    fg.language(feed.language)  # xml:lang on <feed>
    # RFC 4287 §4.1.1: an entry without an author inherits the feed's, so the site is one.
    fg.author(name=feed.site_title, uri=feed.site_url)
    fg.link(href=feed.url("atom"), rel="self", type=MEDIA_TYPE)
    fg.link(href=feed.site_url, rel="alternate", type="text/html")
    if feed.hub_url:
        fg.link(href=feed.hub_url, rel="hub")
    fg.generator(feed.generator)
    if feed.icon_url:
        fg.icon(feed.icon_url)
    if feed.logo_url:
        fg.logo(feed.logo_url)
    return fg


def _entry(item: Item, feed: Feed) -> bytes:
    """One ``<entry>`` of a cleaned feed, in the element order feedgen wrote."""
    if not (item.id and item.title):
        # RFC 4287 §4.1.2: atom:id and atom:title are required (feedgen refused them too).
        raise ValueError(f"render: Atom entry {item.id!r} needs a non-empty id and title")
    e = _xml.XML.element
    parts = [
        "<entry>",
        e("id", item.id),
        e("title", item.title),
        e("updated", rfc3339(item.updated, feed.timezone)),
    ]
    if item.author:
        parts.append(_xml.XML.wrap("author", e("name", item.author)))
    parts.append(e("content", content_html(item), type="html"))
    if item.summary:
        parts.append(e("summary", item.summary))  # type="text" by default: the sapo is plain
    for ref in item.categories:
        label = {"label": ref.name} if ref.name else {}
        parts.append(e("category", term=ref.slug, **label))
    parts.append(e("published", rfc3339(item.published, feed.timezone)))
    # Links (RFC 4287 §4.2.7) and Media RSS.
    parts.append(e("link", rel="alternate", type="text/html", href=item.url))
    if item.image is not None:
        parts.append(e("link", **_enclosure(item.image)))
        parts.append(_xml.XML.media(item.image))
    parts.append("</entry>")
    return "".join(parts).encode("utf-8")


def _enclosure(image: Image) -> dict[str, str]:
    """The lead photo as ``<link rel="enclosure">`` attributes (RFC 4287 §4.2.7.2)."""
    link = {"rel": "enclosure", "href": image.url}
    kind = image_type(image)
    if kind:
        link["type"] = kind
    if image.length:
        link["length"] = str(image.length)
    return link
