"""RSS 2.0 (https://www.rssboard.org/rss-specification) with feedgen underneath.

feedgen traps this module steps around: the channel ``<link>`` is whatever ``link()`` got last,
so the self link is given first and the site last; ``lastBuildDate`` defaults to the clock;
entries are prepended unless ``order="append"``; a name-only author is silently dropped (RSS
``<author>`` must be an e-mail), so ``dc:creator`` is written here; ``formatRFC2822`` switches
the process-wide locale, so dates are formatted here; its media extension wraps everything in
``media:group`` and its syndication extension writes ``sy:UpdatePeriod`` (wrong case).
"""

from __future__ import annotations

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.feed import Feed, Item
from feedsvc.render import _xml
from feedsvc.render._common import (
    Parts,
    clean_feed,
    content_html,
    description_html,
    image_type,
    rfc822,
    ttl_minutes,
    update_frequency,
)
from feedsvc.render._xml import ATOM_NS, DC_NS, MEDIA_NS, SY_NS

MEDIA_TYPE = "application/rss+xml"


def render(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8 bytes)."""
    return render_parts(feed).join()


def render_parts(feed: Feed) -> Parts:
    """The RSS document cut around its ``<item>`` elements (see :class:`Parts`)."""
    feed = clean_feed(feed)
    root = _xml.parse(_generator(feed).rss_str(pretty=False))
    channel = root.find("channel")
    if channel is None:
        raise RuntimeError("render: feedgen produced RSS without <channel>")
    _fix_channel(channel, feed)
    nodes = channel.findall("item")
    for node, item in zip(nodes, feed.items, strict=True):
        _extend_item(node, item, feed)
    return _xml.rss_profile_refs(_xml.cut(root, channel, nodes))


def _generator(feed: Feed) -> FeedGenerator:
    """feedgen's part: channel basics and each item's core elements, newest first."""
    fg = FeedGenerator()
    fg.register_extension(
        "feedsvc", _xml.namespace_extension({"dc": DC_NS, "media": MEDIA_NS, "sy": SY_NS}), None
    )
    fg.title(feed.title)
    fg.description(feed.description)
    # The RSS channel <link> is the href of the last link() call: self first, the site last.
    fg.link(href=feed.url("rss"), rel="self", type=MEDIA_TYPE)
    fg.link(href=feed.site_url, rel="alternate")
    fg.language(feed.language)
    fg.generator(feed.generator)
    fg.lastBuildDate(feed.last_modified)  # never the clock: same data, same bytes
    fg.ttl(ttl_minutes(feed.max_age))
    logo = feed.logo_url or feed.icon_url
    if logo:
        fg.image(url=logo, title=feed.title, link=feed.site_url)
    for item in feed.items:
        _entry(fg.add_entry(order="append"), item)
    return fg


def _entry(fe: FeedEntry, item: Item) -> None:
    fe.guid(item.id, permalink=False)
    fe.title(item.title)
    fe.link(href=item.url)
    fe.description(description_html(item))
    fe.content(content_html(item))  # escaped text, not CDATA: "]]>" needs no special care
    for ref in item.categories:
        fe.category(term=ref.slug, label=ref.name)
    kind = None if item.image is None else image_type(item.image)
    if item.image is not None and kind:
        # RSS 2.0 <enclosure> needs url, length and type; left out when the type is unknown.
        fe.enclosure(item.image.url, str(item.image.length or 0), kind)


def _fix_channel(channel: etree._Element, feed: Feed) -> None:
    """Channel elements feedgen gets wrong or cannot write."""
    # Locale-independent date; feedgen's own text is the same instant.
    last_build = channel.find("lastBuildDate")
    if last_build is not None:
        last_build.text = rfc822(feed.last_modified, feed.timezone)
    if feed.hub_url:
        # WebSub §4: the hub is advertised next to the self link.
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        if self_link is None:
            raise RuntimeError("render: feedgen left out the RSS atom:link rel=self")
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", href=feed.hub_url, rel="hub"))
    frequency = str(update_frequency(feed.max_age))
    _xml.insert_before_items(channel, "item", f"{{{SY_NS}}}updatePeriod", "hourly")
    _xml.insert_before_items(channel, "item", f"{{{SY_NS}}}updateFrequency", frequency)


def _extend_item(node: etree._Element, item: Item, feed: Feed) -> None:
    """Item elements written here: pubDate, dc:creator, Media RSS."""
    _xml.sub(node, "pubDate", rfc822(item.published, feed.timezone))
    if item.author:
        _xml.sub(node, f"{{{DC_NS}}}creator", item.author)
    if item.image is not None:
        _xml.add_media(node, item.image)
