"""How a story looks in each destination: Telegram's limits counted as Telegram counts them."""

from __future__ import annotations

import json

import pytest

from feedsvc.relay.message import (
    Story,
    cut_words,
    story_from_item,
    telegram_html,
    telegram_request,
    utf16_len,
    webhook_body,
    zalo_element,
)

from tests.helpers.chat_apis import telegram_visible_text

URL = "https://bienphong.example/bai-1.html"


def story(**extra: object) -> Story:
    fields: dict[str, object] = {"id": "tag:x,2026:article/1", "title": "Tiêu đề", "url": URL}
    fields.update(extra)
    return Story(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [1024, 200, 60])
@pytest.mark.parametrize("filler", ["chữ ", "😀 ", "a&b<c> "])
def test_caption_fits_the_limit_once_parsed(limit: int, filler: str) -> None:
    markup = telegram_html(story(summary=filler * 2000, title="Tin " + filler * 5), limit)
    visible, errors = telegram_visible_text(markup)
    assert errors == []
    assert utf16_len(visible) <= limit
    assert visible.endswith(URL)  # the link is never cut


def test_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    assert cut_words("một hai ba bốn năm", 12) == "một hai ba…"
    assert cut_words("ngắn", 10) == "ngắn"
    assert utf16_len(cut_words("😀" * 100, 11)) <= 11  # a surrogate pair is never split


def test_escaping_happens_after_cutting() -> None:
    markup = telegram_html(story(title="A & B <i>", summary="x < y"), 1024)
    assert markup.startswith("<b>A &amp; B &lt;i&gt;</b>\n\nx &lt; y\n\n<a href=")
    visible, _ = telegram_visible_text(markup)
    assert visible == f"A & B <i>\n\nx < y\n\n{URL}"


def test_photo_or_text_message() -> None:
    method, params = telegram_request("1001", story(image="https://x.example/a.jpg"))
    assert method == "sendPhoto" and params["photo"] == "https://x.example/a.jpg"
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "Đọc tiếp", "url": URL}]]}
    method, params = telegram_request("1001", story())
    assert method == "sendMessage" and params["link_preview_options"]["url"] == URL


def test_zalo_element_within_its_limits() -> None:
    element = zalo_element(story(title="T " * 200, summary="S " * 400, image="https://i/a.jpg"))
    assert len(element["title"]) <= 100 and element["title"].endswith("…")
    assert len(element["subtitle"]) <= 500
    assert element["default_action"] == {"type": "oa.open.url", "url": URL}
    assert element["image_url"] == "https://i/a.jpg"
    assert "image_url" not in zalo_element(story())


def test_story_from_a_json_feed_item_and_back() -> None:
    item = {
        "id": "tag:x,2026:article/1",
        "url": URL,
        "title": "Tiêu đề",
        "summary": "Sapo",
        "image": "https://i/a.jpg",
        "date_published": "2026-12-06T08:00:00+07:00",
        "tags": ["Thời sự"],
    }
    parsed = story_from_item(item)
    assert parsed is not None and parsed.categories == ("Thời sự",)
    assert Story.from_json(parsed.to_json()) == parsed
    assert parsed.published_at() is not None
    assert story_from_item({"id": "x", "title": "no url"}) is None
    body = json.loads(webhook_body(parsed, "hook"))
    assert body["destination"] == "hook" and body["image"] == "https://i/a.jpg"
