"""Feeds built from records with markup in their titles, summaries, authors, captions and
category names carry plain text: every format, parsed by independent clients and the RFC 4287
schema, and free of what the W3C Feed Validator warns about (``ContainsHTML`` in RSS,
``ContainsUndeclaredHTML`` in Atom). The validator itself is run on these feeds when it is set
up beside the repository (``../validator``, see /work/validator/README.md)."""

from __future__ import annotations

import html.entities
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from lxml import etree
from lxml import html as lxml_html

from tests.helpers.app import article, category, load, services
from tests.helpers.paths import ATOM_RNG, VALIDATOR

ATOM = "{http://www.w3.org/2005/Atom}"

# (id, title sent, title stored, summary sent, summary stored); one hour apart each.
CORPUS = [
    ("m-bold", "AT&T <b>đậm</b>", "AT&T đậm", "Sapo <i>nghiêng</i>.", "Sapo nghiêng."),
    (
        "m-escaped",
        "Tin &lt;b&gt;nóng&lt;/b&gt; &amp; &quot;trích&quot;",
        'Tin nóng & "trích"',
        "AT&amp;amp;T &amp;lt;em&amp;gt;hai lần&amp;lt;/em&amp;gt;",
        "AT&T hai lần",
    ),
    (
        "m-span",
        "<span style='color:red'>Hà Nội</span>: nhiệt độ < 5°C",
        "Hà Nội: nhiệt độ < 5°C",
        "<p>Đoạn 1 có <a href='https://bienphong.example/x'>liên kết</a>.</p><p>Đoạn 2.</p>",
        "Đoạn 1 có liên kết. Đoạn 2.",
    ),
    (
        "m-looks",
        "a <= b, x<y và <Mắt biếc> ‹tin ảnh›",
        "a <= b, x<y và <Mắt biếc> ‹tin ảnh›",
        "Giảm xuống <5% &copy; 2023",
        "Giảm xuống <5% © 2023",
    ),
    (
        "m-script",
        "<script>alert('x')</script>Dòng 1<br>Dòng 2",
        "Dòng 1 Dòng 2",
        "<img src=x onerror=alert(1)><![CDATA[Sapo trong CDATA]]>",
        "Sapo trong CDATA",
    ),
    (
        "m-word",
        "<o:p>Văn bản từ Word</o:p><!-- ghi chú -->",
        "Văn bản từ Word",
        "<div><ul><li>Một</li><li>Hai</li></ul></div>",
        "Một Hai",
    ),
]
AUTHOR = ("<b>Hồng&nbsp;Pha</b>", "Hồng Pha")
CAPTION = ("Ảnh: <em>Hồng Pha</em>", "Ảnh: Hồng Pha")
CATEGORY = ("<b>Quốc phòng</b> &amp; An ninh", "Quốc phòng & An ninh")
DESCRIPTION = ("<p>Tin <i>quốc phòng</i></p>", "Tin quốc phòng")
FORMATS = ("rss", "atom", "json")


@pytest.fixture
def marked(app: Flask) -> Flask:
    """A category and the corpus's articles, stored through ingest and regenerated."""
    records = [
        article(
            article_id,
            "quoc-phong",
            title=title,
            summary=summary,
            author=AUTHOR[0],
            image={"url": f"https://bienphong.example/{article_id}.jpg", "caption": CAPTION[0]},
            published_at=f"2026-11-19T{8 + i:02d}:00:00+07:00",
        )
        for i, (article_id, title, _, summary, _) in enumerate(CORPUS)
    ]
    load(app, [category("quoc-phong", CATEGORY[0], DESCRIPTION[0])], records)
    assert services(app).regenerator.run().ok
    return app


def fetch(app: Flask, fmt: str) -> bytes:
    response = app.test_client().get(f"/feeds/quoc-phong.{fmt}")
    assert response.status_code == 200
    return response.data


def by_id(entries: list[Any], key: str = "id") -> dict[str, Any]:
    return {entry[key].rsplit("/", 1)[1]: entry for entry in entries}


def test_rss_and_atom_carry_the_text(marked: Flask) -> None:
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(fetch(marked, fmt))
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.feed.title.endswith(CATEGORY[1])
        entries = by_id(parsed.entries)
        for article_id, _, title, _, summary in CORPUS:
            entry = entries[article_id]
            assert entry.title == title, (fmt, article_id)
            assert entry.author == AUTHOR[1]
            assert [tag.label or tag.term for tag in entry.tags] == [CATEGORY[1]]
            if fmt == "atom":
                assert entry.summary == summary


def test_atom_text_elements_hold_the_text(marked: Flask) -> None:
    root = etree.fromstring(fetch(marked, "atom"))
    assert root.findtext(f"{ATOM}subtitle") == DESCRIPTION[1]
    entries = {e.findtext(f"{ATOM}id").rsplit("/", 1)[1]: e for e in root.iter(f"{ATOM}entry")}
    for article_id, _, title, _, summary in CORPUS:
        entry = entries[article_id]
        assert entry.findtext(f"{ATOM}title") == title
        assert entry.findtext(f"{ATOM}summary") == summary
        assert entry.findtext(f"{ATOM}author/{ATOM}name") == AUTHOR[1]
        assert entry.find(f"{ATOM}category").get("label") == CATEGORY[1]
        caption = entry.findtext("{http://search.yahoo.com/mrss/}content/{*}title")
        assert caption == CAPTION[1]


def test_json_feed_carries_the_text(marked: Flask) -> None:
    feed = json.loads(fetch(marked, "json"))
    assert feed["description"] == DESCRIPTION[1]
    items = by_id(feed["items"])
    for article_id, _, title, _, summary in CORPUS:
        item = items[article_id]
        assert (item["title"], item["summary"]) == (title, summary)
        assert item["authors"] == [{"name": AUTHOR[1]}] and item["tags"] == [CATEGORY[1]]


def test_the_page_shows_the_text(marked: Flask) -> None:
    page = lxml_html.fromstring(fetch(marked, "html"))
    assert page.xpath("string(//main//h1)") == CATEGORY[1]
    for article_id, _, title, _, summary in CORPUS:
        [story] = page.xpath(f'//article[@id="tin-{article_id}"]')
        assert story.xpath("string(.//h3)") == title
        assert story.xpath('string(.//p[@class="sapo"])') == summary
        assert story.xpath('string(.//*[@class="author"])') == AUTHOR[1]
        assert story.xpath("string(.//figcaption)") == CAPTION[1]
    assert page.xpath("//script | //main//b | //main//i | //@onerror") == []


def test_atom_is_valid_rfc_4287(marked: Flask) -> None:
    if not ATOM_RNG.exists():
        pytest.skip(f"RFC 4287 schema not found at {ATOM_RNG} (../shared is absent)")
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    document = etree.fromstring(fetch(marked, "atom"))
    assert schema.validate(document), schema.error_log.last_error


# The W3C Feed Validator's test for HTML in a text element (validators.py, class nonhtml): an
# end tag of an HTML element, or a reference-like "&name" / "&#…" left in the decoded text.
W3C_END_TAG = re.compile(r"</(\w+)>")
W3C_REFERENCE = re.compile(r"&(#?\w+)")
W3C_HTML_TAGS = frozenset(
    "a abbr acronym address applet area article aside audio b base basefont bdi bdo big "
    "blockquote body br button canvas caption center cite code col colgroup command data "
    "datagrid datalist dd del details dfn dialog dir div dl dt em eventsource fieldset "
    "figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr "
    "html i iframe img input ins isindex kbd label legend li link m main mark map menu meta "
    "meter nav noframes noscript object ol optgroup option output p param picture pre progress "
    "q rp rt ruby s samp script section select slot small source span strike strong style sub "
    "summary sup table tbody td template textarea tfoot th thead time title tr track tt u ul "
    "var xmp plaintext embed comment listing video wbr".split()
)


def w3c_sees_html(text: str) -> bool:
    """Whether the validator would warn that this text element contains HTML."""
    if {tag.lower() for tag in W3C_END_TAG.findall(text)} & W3C_HTML_TAGS:
        return True
    return any(
        name in html.entities.name2codepoint or name == "apos" or not name.isalpha()
        for name in W3C_REFERENCE.findall(text)
    )


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_no_text_element_looks_like_html_to_the_w3c_validator(marked: Flask, fmt: str) -> None:
    root = etree.fromstring(fetch(marked, fmt))
    # Every element whose text the validator reads as plain text in these feeds.
    plain = {"title", "subtitle", "summary", "name", "creator", "category"}
    texts = [
        element.text
        for element in root.iter()
        if isinstance(element.tag, str)
        and etree.QName(element).localname in plain
        and element.get("type") in (None, "text", "plain")
        and element.text
    ]
    texts += [e.get("label") for e in root.iter(f"{ATOM}category")]
    assert len(texts) > 3 * len(CORPUS)
    assert [text for text in texts if w3c_sees_html(text)] == []


@pytest.mark.w3c_validator
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_w3c_validator_finds_nothing(marked: Flask, fmt: str, tmp_path: Path) -> None:
    """The checkers of ../validator, the W3C validator's errors and warnings first, pass."""
    path = tmp_path / f"quoc-phong.{fmt}"
    path.write_bytes(fetch(marked, fmt))
    base = f"http://feeds.test/feeds/quoc-phong.{fmt}"
    done = subprocess.run(
        [str(VALIDATOR), "--base", base, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout, done.stdout
