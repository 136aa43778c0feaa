"""A story as the relay hands it on, and how each destination shows it.

Telegram: HTML caption (Bot API "HTML style": ``<b>``, ``<a>``; ``&lt; &gt; &amp; &quot;``
escaped). Its length limits (1024 for a caption, 4096 for a text) count the text *after*
entities are parsed, in UTF-16 code units, so the text is cut before it is escaped and measured
without tags. Zalo: a "list" template element (title, subtitle, image, default action).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

TELEGRAM_CAPTION_MAX = 1024
TELEGRAM_TEXT_MAX = 4096
TELEGRAM_BUTTON = "Đọc tiếp"  # the button to the article (Telegram, and Zalo's promotion)
# Zalo OA Open API v3, template "list": an element's title up to 100 characters, its
# subtitle up to 500; template "promotion": a header up to 100, a text up to 500 (kept within
# what the list allows, so that both show the same).
ZALO_TITLE_MAX = 100
ZALO_SUBTITLE_MAX = 500
ELLIPSIS = "…"


@dataclass(frozen=True)
class Story:
    """What the relay keeps of a feed item: its stable id, text, link, photo and time."""

    id: str
    title: str
    url: str
    summary: str = ""
    image: str | None = None
    published: str | None = None  # ISO 8601, as the feed gives it
    categories: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The story as stored in the outbox."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Story:
        data = json.loads(text)
        data["categories"] = tuple(data.get("categories", ()))
        return cls(**data)

    def published_at(self) -> datetime | None:
        """The publication time, or None when the feed gave none (or a bad one)."""
        try:
            return datetime.fromisoformat(self.published) if self.published else None
        except ValueError:
            return None


def story_from_item(item: dict[str, Any]) -> Story | None:
    """A JSON Feed 1.1 item as a Story; None when it lacks an id, a title or a URL."""
    item_id, title, url = item.get("id"), item.get("title"), item.get("url")
    if not (isinstance(item_id, str) and isinstance(title, str) and isinstance(url, str)):
        return None
    image = item.get("image")
    tags = item.get("tags") or []
    return Story(
        id=item_id,
        title=title,
        url=url,
        summary=str(item.get("summary") or ""),
        image=image if isinstance(image, str) else None,
        published=item.get("date_published"),
        categories=tuple(str(t) for t in tags),
    )


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def cut_words(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units, cut at a word boundary with an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    used = end = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:  # room for the ellipsis
            break
        end = index + 1
    kept = text[:end]
    space = kept.rfind(" ")
    if space > len(kept) // 2:  # a word boundary not too far back; else cut inside the word
        kept = kept[:space]
    return kept.rstrip(" ,.;:–-") + ELLIPSIS


def telegram_html(story: Story, limit: int) -> str:
    """The message in Telegram HTML: the title in bold, the sapo, the link; at most ``limit``
    characters once parsed (the sapo is cut first, then the title)."""
    link = story.url
    fixed = utf16_len(link) + 2  # the link and the two line breaks before it
    title = cut_words(story.title, max(1, min(utf16_len(story.title), limit - fixed)))
    room = limit - fixed - utf16_len(title) - 2
    sapo = cut_words(story.summary, room) if story.summary and room > 10 else ""
    parts = [f"<b>{_esc(title)}</b>"]
    if sapo:
        parts.append(_esc(sapo))
    parts.append(f'<a href="{_esc(link)}">{_esc(link)}</a>')
    return "\n\n".join(parts)


def telegram_request(chat_id: str, story: Story) -> tuple[str, dict[str, Any]]:
    """The Bot API method and its JSON parameters for one story."""
    keyboard = {"inline_keyboard": [[{"text": TELEGRAM_BUTTON, "url": story.url}]]}
    if story.image:
        return "sendPhoto", {
            "chat_id": chat_id,
            "photo": story.image,
            "caption": telegram_html(story, TELEGRAM_CAPTION_MAX),
            "parse_mode": "HTML",
            "reply_markup": keyboard,
        }
    return "sendMessage", {
        "chat_id": chat_id,
        "text": telegram_html(story, TELEGRAM_TEXT_MAX),
        "parse_mode": "HTML",
        "link_preview_options": {"url": story.url, "prefer_large_media": True},
        "reply_markup": keyboard,
    }


def zalo_element(story: Story) -> dict[str, Any]:
    """The story as one element of Zalo's "list" template."""
    element: dict[str, Any] = {
        "title": _cut_chars(story.title, ZALO_TITLE_MAX),
        "subtitle": _cut_chars(story.summary, ZALO_SUBTITLE_MAX),
        "default_action": {"type": "oa.open.url", "url": story.url},
    }
    if story.image:
        element["image_url"] = story.image
    return element


def zalo_promotion(story: Story) -> dict[str, Any]:
    """The story as Zalo's "promotion" template (a promotion message): banner, header, text,
    and a "Đọc tiếp" button opening the article."""
    elements: list[dict[str, Any]] = []
    if story.image:
        elements.append({"type": "banner", "image_url": story.image})
    elements.append({"type": "header", "content": _cut_chars(story.title, ZALO_TITLE_MAX)})
    if story.summary:
        sapo = _cut_chars(story.summary, ZALO_SUBTITLE_MAX)
        elements.append({"type": "text", "align": "left", "content": sapo})
    button = {"title": TELEGRAM_BUTTON, "type": "oa.open.url", "payload": {"url": story.url}}
    return {"template_type": "promotion", "elements": elements, "buttons": [button]}


def webhook_body(story: Story, destination: str) -> bytes:
    """The webhook's JSON: the story (the reference bot's headline fields, and more)."""
    data = asdict(story)
    data["destination"] = destination
    return json.dumps(data, ensure_ascii=False).encode()


def _cut_chars(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters (Zalo counts characters), at a word boundary."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    space = kept.rfind(" ")
    if space > limit // 2:
        kept = kept[:space]
    return kept.rstrip(" ,.;:–-") + ELLIPSIS


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
