"""RSS 2.0 (https://www.rssboard.org/rss-specification): feedgen writes the channel, we the items.

feedgen traps this module steps around: the channel ``<link>`` is whatever ``link()`` got last,
so the self link is given first and the site last; ``lastBuildDate`` defaults to the clock;
``formatRFC2822`` switches the process-wide locale, so dates are formatted here; its syndication
extension writes ``sy:UpdatePeriod`` (wrong case).

Items are not built with feedgen's ``FeedEntry``: most of an item had to be corrected after it
anyway (a name-only author is dropped, so ``dc:creator`` is ours; its media extension wraps
everything in ``media:group``; ``pubDate`` needs our locale-free date), and building it through
feedgen meant serialising the whole feed, parsing it back and serialising it again. Each item is
written once as text (:data:`_xml.RSS`), in feedgen's element order, with lxml's escaping
and the RSS profile's references.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator
from lxml import etree

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
from feedsvc.render.feed import Feed, Item

MEDIA_TYPE = "application/rss+xml"

# Items use the prefixes "content" (declared by feedgen), "dc" and "media" (by our extension).


def render(feed: Feed) -> bytes:
    """The feed as an RSS 2.0 document (UTF-8 bytes)."""
    return render_parts(feed).join()


def render_parts(feed: Feed) -> Parts:
    """The RSS document cut around its ``<item>`` elements (see :class:`Parts`)."""
    feed = clean_feed(feed)
    frame = _frame(feed)
    items = tuple(_item(item, feed) for item in feed.items)
    return Parts(head=frame.head, items=items, tail=frame.tail, sep=frame.sep)


def _frame(feed: Feed) -> Parts:
    """The channel without items: feedgen's document, corrected, cut where the items go."""
    root = _xml.parse(_generator(feed).rss_str(pretty=False))
    channel = root.find("channel")
    if channel is None:
        raise RuntimeError("render: feedgen produced RSS without <channel>")
    _fix_channel(channel, feed)
    return _xml.rss_profile_refs(_xml.frame(root, channel))


def _generator(feed: Feed) -> FeedGenerator:
    """feedgen's part: the channel's elements."""
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
    return fg


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
    _xml.sub(channel, f"{{{SY_NS}}}updatePeriod", "hourly")
    _xml.sub(channel, f"{{{SY_NS}}}updateFrequency", frequency)


def _item(item: Item, feed: Feed) -> bytes:
    """One ``<item>`` of a cleaned feed, in the element order feedgen wrote."""
    e = _xml.RSS.element
    parts = ["<item>"]
    if item.title:
        parts.append(e("title", item.title))
    if item.url:
        parts.append(e("link", item.url))
    content = content_html(item)  # escaped text, not CDATA: "]]>" needs no special care
    # RSS 2.0: description is required; content:encoded carries the full body beside it.
    description = description_html(item)
    parts.append(e("description", description or content))
    if description:
        parts.append(e("content:encoded", content))
    parts.append(e("guid", item.id, isPermaLink="false"))
    parts += [e("category", ref.name) for ref in item.categories]
    kind = None if item.image is None else image_type(item.image)
    if item.image is not None and kind:
        # RSS 2.0 <enclosure> needs url, length and type; left out when the type is unknown.
        length = str(item.image.length or 0)
        parts.append(e("enclosure", url=item.image.url, length=length, type=kind))
    parts.append(e("pubDate", rfc822(item.published, feed.timezone)))
    if item.author:
        parts.append(e("dc:creator", item.author))
    if item.image is not None:
        parts.append(_xml.RSS.media(item.image))
    parts.append("</item>")
    return "".join(parts).encode("utf-8")
