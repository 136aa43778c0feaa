"""The renderers' own XML writing and text cleaning match what they replace, byte for byte.

Items are written as text (feedsvc.render._xml.Markup) rather than built with lxml; the
escaping must be exactly lxml's, so an item reads the same to any parser. Cleaning takes a fast
path on clean text; it must find exactly what the regex finds.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from feedsvc.ingest import records
from feedsvc.render import _common, _xml
from feedsvc.render.feed import Image, Item

# Every character class the escaping treats specially, next to ordinary and astral text.
VALUES = [
    "",
    "plain ASCII",
    "Đồn Biên phòng – 🇻🇳🔥 tiếng Việt",
    "a & b < c > d \" e ' f",
    "&amp; &lt; &#x26; &#38; already escaped",
    "]]> <![CDATA[ x ]]> <?pi ?> <!-- c -->",
    "tab\there, new\nline, return\r, both\r\n",
    "https://x.vn/a?b=1&c=2#d",
    "\u2028\u2029\u00a0\u0085 and \U0001d11e",
    '<p>Tin <b>đậm</b> & <a href="https://x.vn/?a=1&b=2">liên kết</a></p>',
]


def lxml_element(tag: str, text: str | None, attrib: dict[str, str]) -> bytes:
    node = etree.Element(tag, attrib)
    if text is not None:
        node.text = text
    return etree.tostring(node, encoding="UTF-8")


@pytest.mark.parametrize("value", VALUES)
def test_element_text_and_attributes_escape_as_lxml(value: str) -> None:
    for text in (value, None):
        expected = lxml_element("x", text, {"a": value, "b": "1"})
        assert _xml.XML.element("x", text, a=value, b="1").encode() == expected
        # The RSS markup writes & and < as the profile's references, and nothing else differs.
        rss = _xml.RSS.element("x", text, a=value, b="1").encode()
        assert rss == _xml.rss_profile_bytes(expected)
        assert etree.fromstring(rss).attrib == {"a": value, "b": "1"}
        assert etree.fromstring(rss).text == (text or None)


def test_wrap_and_empty_elements_as_lxml() -> None:
    outer = etree.Element("author")
    etree.SubElement(outer, "name").text = "Hồng & Pha"
    expected = etree.tostring(outer, encoding="UTF-8")
    assert _xml.XML.wrap("author", _xml.XML.element("name", "Hồng & Pha")).encode() == expected
    assert _xml.XML.wrap("media:content", "", url="u").encode() == b'<media:content url="u"/>'
    assert _xml.XML.element("title", "").encode() == lxml_element("title", "", {})


@pytest.mark.parametrize("caption", [None, "", 'Ảnh: <Hồng> & "Pha"'])
@pytest.mark.parametrize("length", [None, 0, 12345])
def test_media_elements(caption: str | None, length: int | None) -> None:
    image = Image(url="https://x.vn/a.JPG?w=1&h=2", caption=caption, length=length)
    parent = etree.fromstring(
        b'<item xmlns:media="http://search.yahoo.com/mrss/">'
        + _xml.XML.media(image).encode()
        + b"</item>"
    )
    media = "{http://search.yahoo.com/mrss/}"
    content, thumbnail = list(parent)
    assert content.tag == f"{media}content" and thumbnail.tag == f"{media}thumbnail"
    expected = {"url": image.url, "medium": "image", "type": "image/jpeg"}
    if length:
        expected["fileSize"] = str(length)
    assert content.attrib == expected
    titles = [(t.text, t.get("type")) for t in content]
    assert titles == ([(caption, "plain")] if caption else [])
    assert thumbnail.attrib == {"url": image.url}


# --- cleaning ----------------------------------------------------------------------------------

SAMPLES = ["", "abc", "Việt Nam", "a\tb\nc\r", "x" * 5000 + "\n", "🇻🇳" * 100]


def every_character() -> list[str]:
    """Each code point once (surrogates and noncharacters included), in strings of 200."""
    chars = [chr(cp) for cp in range(0x110000) if cp < 0x30000 or cp % 97 == 0]
    return ["".join(chars[i : i + 200]) for i in range(0, len(chars), 200)]


@pytest.mark.parametrize("module", [_common, records], ids=["render", "records"])
def test_fast_detection_finds_what_the_regex_finds(module: object) -> None:
    has_forbidden = module._FORBIDDEN.found_in  # type: ignore[attr-defined]
    pattern = module._FORBIDDEN.pattern  # type: ignore[attr-defined]
    chunks = every_character()
    singles = [chr(cp) for cp in (*range(0x200), *range(0xD7F0, 0xE010), 0xFFFE, 0xFFFF)]
    for text in chunks + singles:
        for value in [text, *(sample + text for sample in SAMPLES)]:
            assert has_forbidden(value) == (pattern.search(value) is not None), repr(value[:20])


@pytest.mark.parametrize("module", [_common, records], ids=["render", "records"])
def test_clean_text_is_the_regex_then_nfc(module: object) -> None:
    clean_text = module.clean_text  # type: ignore[attr-defined]
    pattern = module._FORBIDDEN.pattern  # type: ignore[attr-defined]
    for text in every_character() + [unicodedata.normalize("NFD", "Biên giới\x0b Hải đảo")]:
        assert clean_text(text) == unicodedata.normalize("NFC", pattern.sub("", text))


def item(title: str) -> Item:
    when = datetime(2026, 1, 1, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return Item("tag:x,2026:article/1", "1", "https://x.vn/1", title, when, when)


def test_cleaning_once_cleans_each_item_object_once() -> None:
    raw = item("Tin\x00 mới")
    assert _common.clean_item(raw) is not _common.clean_item(raw)  # no memo outside a block
    with _common.cleaning_once():
        first = _common.clean_item(raw)
        assert first.title == "Tin mới"
        assert _common.clean_item(raw) is first
        other = item("Tin\x00 mới")  # equal, but another object: cleaned on its own
        assert _common.clean_item(other) == first and _common.clean_item(other) is not first
    assert _common.clean_item(raw) is not first
