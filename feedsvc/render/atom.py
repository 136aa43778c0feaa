"""Atom 1.0 (RFC 4287) with feedgen underneath.

feedgen traps this module steps around: ``updated`` defaults to the clock (feed and entries);
entries are prepended unless ``order="append"``; ``content(type="CDATA")`` writes an invalid
``type`` attribute, so content is ``type="html"`` escaped text; its media extension wraps
everything in ``media:group``, so Media RSS elements are written here; entry links lose their
``rel``/``type``/``length`` (a shadowed variable in ``FeedEntry.atom_entry``), so entry links
are written here too.
"""

from __future__ import annotations

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.feed import Feed, Image, Item
from feedsvc.render import _xml
from feedsvc.render._common import Parts, clean_feed, content_html, image_type, local_time
from feedsvc.render._xml import ATOM_NS, MEDIA_NS

MEDIA_TYPE = "application/atom+xml"


def render(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8 bytes)."""
    return render_parts(feed).join()


def render_parts(feed: Feed) -> Parts:
    """The Atom document cut around its ``<entry>`` elements (see :class:`Parts`)."""
    feed = clean_feed(feed)
    root = _xml.parse(_generator(feed).atom_str(pretty=False))
    nodes = root.findall(f"{{{ATOM_NS}}}entry")
    for node, item in zip(nodes, feed.items, strict=True):
        _extend_entry(node, item)
    return _xml.cut(root, root, nodes)


def feed_id(feed: Feed) -> str:
    """The feed's atom:id: its self URL, stable as long as FEEDSVC_BASE_URL is (RFC 4287 §4.2.6)."""
    return feed.url("atom")


def _generator(feed: Feed) -> FeedGenerator:
    """feedgen's part: feed metadata and every entry, newest first."""
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
    for item in feed.items:
        _entry(fg.add_entry(order="append"), item, feed)
    return fg


def _entry(fe: FeedEntry, item: Item, feed: Feed) -> None:
    fe.id(item.id)
    fe.title(item.title)
    fe.published(local_time(item.published, feed.timezone))
    fe.updated(local_time(item.updated, feed.timezone))
    if item.author:
        fe.author(name=item.author)
    fe.content(content_html(item), type="html")
    if item.summary:
        fe.summary(item.summary)  # type="text" by default: the sapo is plain text
    for ref in item.categories:
        fe.category(term=ref.slug, label=ref.name)


def _extend_entry(node: etree._Element, item: Item) -> None:
    """Entry elements written here: links (RFC 4287 §4.2.7) and Media RSS."""
    _xml.sub(node, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html", href=item.url)
    if item.image is None:
        return
    _xml.sub(node, f"{{{ATOM_NS}}}link", **_enclosure(item.image))
    _xml.add_media(node, item.image)


def _enclosure(image: Image) -> dict[str, str]:
    """The lead photo as ``<link rel="enclosure">`` attributes (RFC 4287 §4.2.7.2)."""
    link = {"rel": "enclosure", "href": image.url}
    kind = image_type(image)
    if kind:
        link["type"] = kind
    if image.length:
        link["length"] = str(image.length)
    return link
