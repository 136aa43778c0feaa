"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), written by our own code.

Keys are written in a fixed order and ``items`` comes last, so the document can be cut into a
head, one JSON object per item and a tail.
"""

from __future__ import annotations

import json
from typing import Any

from feedsvc.render._common import (
    Parts,
    clean_feed,
    content_html,
    fallback_text,
    image_type,
    rfc3339,
)
from feedsvc.render.feed import Feed, Image, Item

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json"


def render(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document (UTF-8 bytes)."""
    return render_parts(feed).join()


def render_parts(feed: Feed) -> Parts:
    """The JSON document cut around its item objects (see :class:`Parts`)."""
    feed = clean_feed(feed)
    top = _dumps(top_level(feed))
    head = top[:-1] + b',"items":['  # top level always has keys, so it ends in "}"
    items = tuple(_dumps(item_object(item, feed)) for item in feed.items)
    return Parts(head=head, items=items, tail=b"]}", sep=b",")


def top_level(feed: Feed) -> dict[str, Any]:
    """The feed's top-level members (all but ``items``), in a fixed order."""
    top: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.site_url,
        "feed_url": feed.url("json"),
        "description": feed.description,
    }
    if feed.logo_url:
        top["icon"] = feed.logo_url  # JSON Feed "icon" is the large (512x512) image
    if feed.icon_url:
        top["favicon"] = feed.icon_url
    top["authors"] = [{"name": feed.site_title, "url": feed.site_url}]
    top["language"] = feed.language
    if feed.hub_url:
        top["hubs"] = [{"type": "WebSub", "url": feed.hub_url}]
    return top


def item_object(item: Item, feed: Feed) -> dict[str, Any]:
    """One item, in a fixed key order."""
    obj: dict[str, Any] = {"id": item.id, "url": item.url, "title": item.title}
    if item.content_html:
        obj["content_html"] = content_html(item)
    else:
        # JSON Feed 1.1: content_html or content_text must be present.
        obj["content_text"] = fallback_text(item)
        if item.image is not None:
            obj["content_html"] = content_html(item)
    if item.summary:
        obj["summary"] = item.summary
    if item.image is not None:
        obj["image"] = item.image.url
    obj["date_published"] = rfc3339(item.published, feed.timezone)
    obj["date_modified"] = rfc3339(item.updated, feed.timezone)
    if item.author:
        obj["authors"] = [{"name": item.author}]
    if item.categories:
        obj["tags"] = [ref.name for ref in item.categories]
    attachment = None if item.image is None else _attachment(item.image)
    if attachment is not None:
        obj["attachments"] = [attachment]
    return obj


def _attachment(image: Image) -> dict[str, Any] | None:
    """The lead photo as an attachment, for readers that take enclosures from ``attachments``
    only; None when its media type is unknown (JSON Feed 1.1 requires ``mime_type``)."""
    kind = image_type(image)
    if not kind:
        return None
    attachment: dict[str, Any] = {"url": image.url, "mime_type": kind}
    if image.length:  # 0 or None: the size is not known (the photo is never fetched)
        attachment["size_in_bytes"] = image.length
    return attachment


def _dumps(value: dict[str, Any]) -> bytes:
    # ensure_ascii=False: Vietnamese stays readable and short; key order is insertion order.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
