"""Plain-text fields: markup becomes text, text that only looks like markup survives."""

from __future__ import annotations

import random
import re
import time

import nh3
import pytest

from feedsvc.ingest.plaintext import MAX_PASSES, plain_text
from feedsvc.ingest.records import clean_text

# What a reader means, though an HTML tokenizer might take it for markup.
SURVIVES = [
    "nhiệt độ < 5°C",
    "‹tin ảnh›",
    "a <= b",
    "AT&T",
    "x<y",
    "x<y và y>z",  # "y" names no element: the "<" is text
    "<Mắt biếc> ra rạp",
    "<tin ảnh>",
    "<<Thông báo>>",
    "chỉ còn <30 phút",
    "giảm xuống <5%",
    "1</2",
    "</ 3>",
    "Wow<!",
    "<3 Hà Nội",
    "a -> b",
    "x < y > z",
    "Q&A, R&D, M&A",
    "&copy2023",  # no reference: a legacy name decodes only before a non-alphanumeric
    "Q&notes",
    "&unknown; &T;",
    'Tin <b title="nóng',  # an unfinished tag is no tag
    "<b",
    'Ảnh "đẹp" ]]>',
    '" onerror="alert(1)',
    "🇻🇳 Biên giới – Hải đảo",
]


@pytest.mark.parametrize("text", SURVIVES)
def test_text_that_only_looks_like_markup_survives(text: str) -> None:
    assert plain_text(text) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AT&T <b>đậm</b>", "AT&T đậm"),
        ("AT&amp;T", "AT&T"),
        ("<B>Hoa</B> <I>nghiêng</I>", "Hoa nghiêng"),
        ('<span style="color:red">Hà Nội</span>: tin nóng', "Hà Nội: tin nóng"),
        ('<a href="https://bienphong.example/x">liên kết</a>', "liên kết"),
        ('<a title="x > y">Tin</a>', "Tin"),  # the ">" inside a quoted value ends no tag
        ("<img src=x onerror=alert(1)>Ảnh", "Ảnh"),
        ("<script>alert('x')</script> & \"Tin\"", '& "Tin"'),
        ("<style>b { color: red }</style>Tin", "Tin"),
        ("Dòng 1<br>Dòng 2<br/>Dòng 3", "Dòng 1 Dòng 2 Dòng 3"),
        ("<p>Đoạn 1</p><p>Đoạn 2</p>", "Đoạn 1 Đoạn 2"),
        ("Đ<b>ồ</b>n", "Đồn"),  # inline tags inside a word keep it whole, as a browser shows it
        ("a<!-- ghi chú -->b", "ab"),
        ("a<!---->b<!-->c", "abc"),
        ("<![CDATA[Tin <nóng> & mới]]>", "Tin <nóng> & mới"),
        ("<!DOCTYPE html><title>Tin</title>", "Tin"),
        ('<?xml version="1.0"?>Tin', "Tin"),
        ("<o:p>Word</o:p> <st1:place>Hà Nội</st1:place>", "Word Hà Nội"),
        ("<amp-img src=x></amp-img>Tin", "Tin"),
        ("&copy; 2023 &copy 2023", "© 2023 © 2023"),
        ("a&nbsp;&nbsp;b\u00a0c", "a b c"),
        ("&lt;b&gt; là thẻ in đậm", "là thẻ in đậm"),  # escaped once: the tag is markup too
        ("AT&amp;amp;T &amp;lt;b&amp;gt;đậm&amp;lt;/b&amp;gt;", "AT&T đậm"),  # escaped twice
        ("&#150; &#x2013; &ndash;", "– – –"),  # 150: Windows-1252, as HTML reads it
        ("&#x1F1FB;&#x1F1F3; &#128293", "🇻🇳 🔥"),
        ("a&#1;b&#x81;c&#12;d&#xFFFE;e&#x7;f", "abcdef"),  # references to forbidden characters
        ("&#0;&#xD800;&#x110000;", "\ufffd\ufffd\ufffd"),
        ("<&#1;b>x</b>", "x"),  # a removed reference cannot hide a tag
        ("  Hai\n\tdòng   một\u00a0tiêu đề ", "Hai dòng một tiêu đề"),
        ("Quo\u0302\u0301c phòng", "Quốc phòng"),  # NFC
        ("<<b>b>", ""),
    ],
)
def test_markup_becomes_text(value: str, expected: str) -> None:
    assert plain_text(value) == expected


@pytest.mark.parametrize(
    "value",
    ["<b></b>", "&nbsp;", "<img src=x>", "<script>alert(1)</script>", "<!-- -->", "<br>  <br>"],
)
def test_markup_alone_leaves_nothing(value: str) -> None:
    assert plain_text(value) == ""


# Pieces random texts are made of: prose, characters that look like markup, tags, references.
PIECES = [
    "Biên phòng",
    " ",
    "\n",
    "<",
    ">",
    "&",
    ";",
    "/",
    "!",
    "-",
    '"',
    "b",
    "p",
    "Mắt",
    "<b>",
    "</b>",
    "<br>",
    "<p>",
    "</p>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&lt;",
    "&gt;",
    "&#60;",
    "&#x3C;",
    "&copy",
    "&#1;",
    "<script>",
    "</script>",
    '<a href="x">',
    "</a>",
    "<?",
    "<!DOCTYPE x>",
]
# The W3C validator's test for HTML in a text element (validators.py, class nonhtml).
W3C_END_TAG = re.compile(r"</(\w+)>")
W3C_TAGS = {"a", "b", "br", "p", "script", "span", "i", "em", "strong", "div", "img"}


def random_texts(count: int) -> list[str]:
    rng = random.Random(14)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 14))) for _ in range(count)]


def test_converting_again_changes_nothing() -> None:
    """Idempotent: an article read back from the API and sent again is stored unchanged."""
    cases = [*SURVIVES, *random_texts(3000)]
    for value in cases:
        once = plain_text(value)
        assert plain_text(once) == once, (value, once)


def test_output_is_clean_one_line_text_without_end_tags() -> None:
    for value in random_texts(3000):
        text = plain_text(value)
        assert clean_text(text) == text and text == text.strip()
        assert "\n" not in text and "  " not in text
        assert not {tag.lower() for tag in W3C_END_TAG.findall(text)} & W3C_TAGS, (value, text)


def test_tags_are_removed_as_html5ever_removes_them() -> None:
    """Where every "<" opens a complete inline tag, the text is the real tokenizer's text."""
    rng = random.Random(4)
    tags = ['<b class="x">', "</b>", "<i>", "</i>", "<span title='a > b'>", "</span>", "<em>"]
    words = ["Biên", "phòng", " ", "tuần tra", "–", "Hà Nội"]
    for _ in range(500):
        value = "".join(rng.choice(tags + words) for _ in range(rng.randrange(1, 12)))
        expected = " ".join(nh3.clean(value, tags=set()).split())
        assert plain_text(value) == expected, value


def test_escaping_nested_deeper_than_the_passes_stays_text() -> None:
    """The passes are bounded: a pathological nesting keeps what is left as text."""
    value = "&amp;" * 1 + "amp;" * (MAX_PASSES + 2) + "lt;b&gt;"
    assert plain_text(value).startswith("&")


@pytest.mark.parametrize(
    "value",
    [
        "<b" * 200_000,
        "<b>" * 100_000,
        "<!--" * 100_000,
        "<![CDATA[" * 50_000,
        "<!--" * 100_000 + "-->",
        "&amp;" * 100_000,
        "<" * 300_000 + ">",
        "<a" + "b" * 300_000 + ">",
        "&lt;" * 100_000,
    ],
    ids=lambda value: f"{value[:12]}…{len(value)}",
)
def test_time_is_linear_in_the_length(value: str) -> None:
    started = time.perf_counter()
    plain_text(value)
    # Well under a second on a slow machine; quadratic work would take minutes.
    assert time.perf_counter() - started < 5
