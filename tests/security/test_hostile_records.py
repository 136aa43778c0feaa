"""Hostile records that slipped past input cleaning still render well-formed, correct feeds."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from feedsvc.render import RENDERERS, opml
from feedsvc.render.feed import CategoryRef, Feed, Image, Item

from tests.helpers.paths import ATOM_RNG

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# What XML 1.0 forbids, plus C1 controls: none may survive into any format.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
STRICT = etree.XMLParser(resolve_entities=False, huge_tree=True, recover=False)

NFD_NAME = unicodedata.normalize("NFD", "Biên giới – Hải đảo")
TITLE = "<script>alert('x')</script> & \"Tin\" ]]> \x00\x0b\x1b\x85\ufffe 🇻🇳🔥 " + NFD_NAME
TITLE_CLEAN = "<script>alert('x')</script> & \"Tin\" ]]>  🇻🇳🔥 Biên giới – Hải đảo"
SUMMARY = "Sapo có ]]> và &amp; và <b>thẻ</b>\ud800 và \x1b[31mANSI"
SUMMARY_CLEAN = "Sapo có ]]> và &amp; và <b>thẻ</b> và [31mANSI"
CAPTION = 'Ảnh "đẹp" <b>&</b> ]]>\x85'
CAPTION_CLEAN = 'Ảnh "đẹp" <b>&</b> ]]>'
BIG_BODY = "<p>" + "Đây là nội dung rất dài của bài báo. " * 13_000 + "]]></p>"
TRICKY_BODY = "<p>a ]]> b <![CDATA[ c ]]> <?feedsvc-cut-0000000000000000 ?> <item>d</item></p>"


def hostile_items() -> tuple[Item, ...]:
    cat = CategoryRef("thoi-su", "Thời sự & <Bình luận>\x0b")
    when = [datetime(2023, 2, 4, 12 - h, 0, tzinfo=TZ) for h in range(4)]
    image = Image(url="https://x.vn/a.jpg?w=1&h=2", caption=CAPTION, length=10)
    return (
        Item("tag:x.vn,2026:article/h-1", "h-1", "https://x.vn/1?a=1&b=2", TITLE, when[0], when[0],
             summary=SUMMARY, content_html=TRICKY_BODY, author="Nguyễn\x1bVăn A 👮",
             categories=(cat,), image=image),
        Item("tag:x.vn,2026:article/h-2", "h-2", "https://x.vn/2", NFD_NAME, when[1], when[1],
             content_html=BIG_BODY, categories=(cat,)),
        Item("tag:x.vn,2026:article/h-3", "h-3", "https://x.vn/3", "Chỉ có tiêu đề\x00", when[2],
             when[2], image=Image(url="https://x.vn/p", caption=None)),
        Item("tag:x.vn,2026:article/h-\x004", "h-4", "https://x.vn/4", "]]>", when[3], when[3],
             summary="\x85\x9f", categories=(cat,)),
    )  # fmt: skip


def hostile_feed(items: tuple[Item, ...] | None = None) -> Feed:
    return Feed(
        key="thoi-su",
        title="Báo \x00Biên phòng – Thời sự ]]> & <",
        description=NFD_NAME + " \x1b]]>",
        site_url="https://x.vn/?a=1&b=2",
        site_title="Báo & <Biên phòng>\x0c",
        base_url="http://127.0.0.1:8000",
        timezone=TZ,
        last_modified=datetime(2023, 2, 4, 12, 0, 1, tzinfo=TZ),
        max_age=60,
        items=hostile_items() if items is None else items,
        category=CategoryRef("thoi-su", "Thời sự"),
    )


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def xml_strings(root: etree._Element) -> Iterator[str]:
    """Every text, tail and attribute value of an XML tree."""
    for node in root.iter():
        yield from (s for s in (node.text, node.tail) if s)
        yield from node.attrib.values()


def parse_any(fmt: str, document: bytes) -> list[str]:
    """Parse strictly and return every string the document carries."""
    if fmt == "json":
        return list(strings(json.loads(document)))
    parsed = feedparser.parse(document)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return list(xml_strings(etree.fromstring(document, STRICT)))


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_hostile_feed_is_well_formed_and_clean(fmt: str) -> None:
    document = RENDERERS[fmt].render(hostile_feed())
    document.decode("utf-8")  # strict UTF-8: no lone surrogates slipped through
    texts = parse_any(fmt, document)
    assert not [t for t in texts if FORBIDDEN.search(t)]
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    joined = "\n".join(texts)
    assert TITLE_CLEAN in joined and "🇻🇳🔥" in joined and "Biên giới – Hải đảo" in joined
    assert "]]>" in joined and "<script>" in joined  # kept as text, never as markup


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_hostile_fields_round_trip_feedparser(fmt: str) -> None:
    parsed = feedparser.parse(RENDERERS[fmt].render(hostile_feed()))
    first, big, bare, last = parsed.entries
    assert first.title == TITLE_CLEAN
    assert first.link == "https://x.vn/1?a=1&b=2"
    assert first.author == "NguyễnVăn A 👮"
    assert big.title == "Biên giới – Hải đảo"  # NFD in, NFC out
    assert big.content[0].value == BIG_BODY  # the 500 kB body arrives whole
    assert bare.title == "Chỉ có tiêu đề"
    assert last.id == "tag:x.vn,2026:article/h-4" and last.title == "]]>"
    assert parsed.feed.title == "Báo Biên phòng – Thời sự ]]> & <"


def test_hostile_raw_text_in_xml() -> None:
    """lxml sees exactly the cleaned text: titles, CDATA-looking bodies, captions."""
    rss = etree.fromstring(RENDERERS["rss"].render(hostile_feed()), STRICT)
    item = rss.find("channel/item")
    assert item.findtext("title") == TITLE_CLEAN
    assert item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded").endswith(TRICKY_BODY)
    media = item.find("{http://search.yahoo.com/mrss/}content")
    assert media.findtext("{http://search.yahoo.com/mrss/}title") == CAPTION_CLEAN
    assert item.find("enclosure").get("url") == "https://x.vn/a.jpg?w=1&h=2"
    atom = etree.fromstring(RENDERERS["atom"].render(hostile_feed()), STRICT)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert atom.find("a:entry/a:summary", ns).text == SUMMARY_CLEAN


def test_rss_plain_text_uses_hex_references() -> None:
    """RSS Best Practices Profile: "&" and "<" in text are written &#x26; and &#x3C;."""
    document = RENDERERS["rss"].render(hostile_feed())
    assert b"&amp;" not in document and b"&lt;" not in document
    assert b"<title>&#x3C;script&gt;alert('x')&#x3C;/script&gt; &#x26; " in document


def test_hostile_json_fields() -> None:
    doc = json.loads(RENDERERS["json"].render(hostile_feed()))
    first, big, bare, last = doc["items"]
    assert first["title"] == TITLE_CLEAN and first["summary"] == SUMMARY_CLEAN
    assert first["content_html"].endswith(TRICKY_BODY)
    assert first["authors"] == [{"name": "NguyễnVăn A 👮"}]
    assert first["tags"] == ["Thời sự & <Bình luận>"]
    assert big["content_html"] == BIG_BODY and len(BIG_BODY.encode()) > 500_000
    assert bare["content_text"] == "Chỉ có tiêu đề" and bare["image"] == "https://x.vn/p"
    assert last["id"] == "tag:x.vn,2026:article/h-4" and last["content_text"] == "]]>"
    assert "summary" not in last  # a summary of only control characters is empty: left out


def test_hostile_atom_relax_ng() -> None:
    if not ATOM_RNG.is_file():
        pytest.skip(f"RFC 4287 RELAX NG schema not found at {ATOM_RNG}: ../shared is absent")
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    for items in (None, ()):
        document = etree.fromstring(RENDERERS["atom"].render(hostile_feed(items)), STRICT)
        assert schema.validate(document), schema.error_log


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_hostile_deterministic_and_spliceable(fmt: str) -> None:
    renderer = RENDERERS[fmt]
    parts = renderer.render_parts(hostile_feed())
    assert renderer.render(hostile_feed()) == parts.join()
    assert len(parts.items) == 4
    for n in range(5):
        parse_any(fmt, parts.head + parts.sep.join(parts.items[:n]) + parts.tail)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_category_with_no_items(fmt: str) -> None:
    document = RENDERERS[fmt].render(hostile_feed(()))
    parse_any(fmt, document)
    if fmt == "json":
        assert json.loads(document)["items"] == []
    else:
        assert feedparser.parse(document).entries == []


def test_hostile_opml_is_well_formed() -> None:
    document = opml.OpmlDocument(
        title="Báo \x00& <Biên phòng> ]]>",
        date_modified=datetime(2023, 2, 4, 12, 0, tzinfo=TZ),
        outlines=(
            opml.Outline(text=NFD_NAME + "\x1b&<", xml_url="http://127.0.0.1:8000/a?b=1&c=2"),
        ),
    )
    root = etree.fromstring(opml.render(document), STRICT)
    assert root.findtext("head/title") == "Báo & <Biên phòng> ]]>"
    outline = root.find("body/outline")
    assert outline.get("text") == "Biên giới – Hải đảo&<"
    assert outline.get("xmlUrl") == "http://127.0.0.1:8000/a?b=1&c=2"
