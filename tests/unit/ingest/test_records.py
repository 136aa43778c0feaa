"""Tests for feedsvc.ingest.records: every record rule accepted and rejected, normalisation,
sanitizing."""

import json
import pickle
import random
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from feedsvc.ingest.records import (
    ArticleRecord,
    CategoryRecord,
    FieldError,
    ImageRecord,
    RecordError,
    clean_text,
    parse_article,
    parse_category,
    sanitize_html,
)

from tests.helpers.paths import DATA

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BASE = "https://www.bienphong.com.vn/tin-tuc/bai-viet.html"
QUOC_PHONG = "Quốc phòng"
QUOC_PHONG_NFD = unicodedata.normalize("NFD", QUOC_PHONG)


def article(**changes: Any) -> dict[str, Any]:
    """A valid article record with some fields replaced (a value of ... deletes the field)."""
    raw: dict[str, Any] = {
        "id": "bp-1",
        "url": BASE,
        "title": "Tiêu đề",
        "categories": ["thoi-su"],
        "published_at": "2023-02-03T15:30:00+07:00",
    }
    raw.update(changes)
    return {key: value for key, value in raw.items() if value is not ...}


def errors_of(call: Any, *args: Any) -> list[FieldError]:
    """The FieldErrors a parse call rejects with."""
    with pytest.raises(RecordError) as caught:
        call(*args)
    assert caught.value.errors, "a RecordError must list at least one FieldError"
    return caught.value.errors


def assert_rejected(errors: list[FieldError], field: str, fragment: str) -> None:
    """Exactly one error for field, and its message contains fragment."""
    messages = [e.message for e in errors if e.field == field]
    assert len(messages) == 1, errors
    assert fragment in messages[0], messages[0]


def body(html: str) -> lxml.html.HtmlElement:
    """Sanitize html against BASE; parse it under a <section>, a tag the allowlist lacks."""
    return lxml.html.fragment_fromstring(sanitize_html(html, BASE), create_parent="section")


# --- the real sample ---------------------------------------------------------------------------


def test_seed_article_parses() -> None:
    raw = json.loads((DATA / "records_seed.jsonl").read_text(encoding="utf-8").splitlines()[0])
    record = parse_article(raw, TZ)
    assert record.id == "bp-20230203-cnqp"
    assert record.categories == ("quoc-phong-an-ninh", "thoi-su")
    assert record.author == "Hồng Pha"
    assert record.image == ImageRecord(
        url=raw["image"]["url"],
        caption=raw["image"]["caption"],
        mime_type="image/jpeg",
        length=None,
    )
    assert record.published_at == datetime(2023, 2, 3, 11, 30, tzinfo=UTC)
    assert record.updated_at is None
    assert record.content_html is not None
    assert len(body(record.content_html).findall("p")) == raw["content_html"].count("<p>")
    out = json.loads(json.dumps(record.to_json(), ensure_ascii=False))
    assert out["published_at"] == "2023-02-03T11:30:00Z"
    assert "updated_at" not in out and "length" not in out["image"]
    assert parse_article(out, TZ) == record  # the normalised form is a fixed point


# --- categories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"slug": "thoi-su", "name": "Thời sự"}, CategoryRecord("thoi-su", "Thời sự", None)),
        (
            {"slug": "a", "name": "A", "description": "  Tin\nmới  "},
            CategoryRecord("a", "A", "Tin mới"),
        ),
        (
            {"slug": "x" * 64, "name": " \t Quốc  phòng\n- An ninh "},
            CategoryRecord("x" * 64, "Quốc phòng - An ninh", None),
        ),
        (
            {"slug": "bien-gioi-2", "name": "B", "description": "  ", "extra": [1]},
            CategoryRecord("bien-gioi-2", "B", None),
        ),
        (
            {"slug": "q", "name": QUOC_PHONG_NFD, "description": None},
            CategoryRecord("q", QUOC_PHONG, None),
        ),
    ],
)
def test_category_accepted(raw: dict[str, Any], expected: CategoryRecord) -> None:
    assert parse_category(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"name": "A"}, "slug", "is required"),
        ({"slug": "", "name": "A"}, "slug", "is required"),
        ({"slug": "Thoi-Su", "name": "A"}, "slug", "like 'quoc-phong', got 'Thoi-Su'"),
        ({"slug": "thoi--su", "name": "A"}, "slug", "single hyphens"),
        ({"slug": "-thoi", "name": "A"}, "slug", "got '-thoi'"),
        ({"slug": "thoi-", "name": "A"}, "slug", "got 'thoi-'"),
        ({"slug": "thời-sự", "name": "A"}, "slug", "lowercase letters and digits"),
        ({"slug": "thoi su", "name": "A"}, "slug", "lowercase letters and digits"),
        ({"slug": "x" * 65, "name": "A"}, "slug", "at most 64 characters, got 65"),
        ({"slug": "all", "name": "A"}, "slug", "'all' is reserved"),
        ({"slug": 7, "name": "A"}, "slug", "must be a string, got number"),
        ({"slug": "a"}, "name", "is required"),
        ({"slug": "a", "name": " \n\t "}, "name", "is required"),
        ({"slug": "a", "name": "\x00\x1f\u0085"}, "name", "is required"),
        ({"slug": "a", "name": ["A"]}, "name", "must be a string, got array"),
        ({"slug": "a", "name": "A", "description": False}, "description", "got boolean"),
    ],
)
def test_category_rejected(raw: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(errors_of(parse_category, raw), field, fragment)


@pytest.mark.parametrize("raw", [None, [], ["slug"], "thoi-su", 3, True, 1.5])
def test_record_must_be_an_object(raw: object) -> None:
    for parse in (parse_category, lambda r: parse_article(r, TZ)):
        errors = errors_of(parse, raw)
        assert [e.field for e in errors] == [""]
        assert "must be a JSON object" in errors[0].message
        assert str(RecordError(errors)) == errors[0].message  # no ": " prefix for the record


# --- articles: accepted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [
        ({"id": "A"}, "id", "A"),
        ({"id": "0.a_b:c-D"}, "id", "0.a_b:c-D"),
        ({"id": "x" * 200}, "id", "x" * 200),
        ({"url": "http://ví.dụ/đường-dẫn"}, "url", "http://ví.dụ/đường-dẫn"),
        ({"url": "  https://a.vn/x?y=1#z \n"}, "url", "https://a.vn/x?y=1#z"),
        ({"url": "HTTPS://A.VN/x"}, "url", "HTTPS://A.VN/x"),
        ({"title": "  Hai\n\tdòng   một\u00a0tiêu đề "}, "title", "Hai dòng một tiêu đề"),
        ({"summary": "  Dòng 1\nDòng 2  "}, "summary", "Dòng 1 Dòng 2"),
        ({"summary": " \n "}, "summary", None),
        ({"summary": None}, "summary", None),
        ({"author": "  Hồng   Pha "}, "author", "Hồng Pha"),
        ({"author": ""}, "author", None),
        ({"content_html": ""}, "content_html", None),
        ({"content_html": "<script>alert(1)</script>  "}, "content_html", None),
        ({"categories": ["b", "a", "b", "a"]}, "categories", ("b", "a")),
        ({"image": None}, "image", None),
        (
            {"image": {"url": "https://a.vn/p.jpg"}},
            "image",
            ImageRecord("https://a.vn/p.jpg", None, None, None),
        ),
        (
            {
                "image": {
                    "url": "https://a.vn/p.jpg",
                    "caption": " Ảnh:\n Hồng Pha ",
                    "mime_type": "IMAGE/JPEG",
                    "length": 0,
                }
            },
            "image",
            ImageRecord("https://a.vn/p.jpg", "Ảnh: Hồng Pha", "image/jpeg", 0),
        ),
        (
            {
                "image": {
                    "url": "https://a.vn/p.webp",
                    "mime_type": "image/svg+xml",
                    "length": 2**40,
                }
            },
            "image",
            ImageRecord("https://a.vn/p.webp", None, "image/svg+xml", 2**40),
        ),
        ({"updated_at": None}, "updated_at", None),
        ({"updated_at": "2023-02-04T09:00:00Z"}, "updated_at", datetime(2023, 2, 4, 9, tzinfo=UTC)),
        ({"unknown": {"deep": [1, 2]}, "guid": 5}, "id", "bp-1"),
    ],
)
def test_article_accepted(changes: dict[str, Any], attribute: str, expected: object) -> None:
    assert getattr(parse_article(article(**changes), TZ), attribute) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-03T15:30:00", datetime(2023, 2, 3, 8, 30, tzinfo=UTC)),  # naive: read in TZ
        ("2023-02-03 15:30", datetime(2023, 2, 3, 8, 30, tzinfo=UTC)),
        ("2023-02-03T15:30:00Z", datetime(2023, 2, 3, 15, 30, tzinfo=UTC)),
        ("2023-02-03t15:30:00z", datetime(2023, 2, 3, 15, 30, tzinfo=UTC)),
        ("2023-02-03T15:30:00+07:00", datetime(2023, 2, 3, 8, 30, tzinfo=UTC)),
        ("2023-02-03T15:30:00+0700", datetime(2023, 2, 3, 8, 30, tzinfo=UTC)),
        ("2023-02-03T15:30:00-05:30", datetime(2023, 2, 3, 21, 0, tzinfo=UTC)),
        ("2023-02-03T00:30:00+07:00", datetime(2023, 2, 2, 17, 30, tzinfo=UTC)),
        ("2023-02-03T15:30:00.25+07:00", datetime(2023, 2, 3, 8, 30, 0, 250000, tzinfo=UTC)),
        (" 2023-02-03T15:30:00Z\n", datetime(2023, 2, 3, 15, 30, tzinfo=UTC)),
        ("1970-01-01T07:00:00+07:00", datetime(1970, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_published_at_becomes_utc(text: str, expected: datetime) -> None:
    published = parse_article(article(published_at=text), TZ).published_at
    assert published == expected
    assert published.tzinfo is UTC  # converted, not merely equal as an instant


def test_to_json_is_json_ready_and_omits_none() -> None:
    record = parse_article(article(published_at="2023-02-03T15:30:00.5", summary=" "), TZ)
    out = record.to_json()
    assert out == {
        "id": "bp-1",
        "url": BASE,
        "title": "Tiêu đề",
        "categories": ["thoi-su"],
        "published_at": "2023-02-03T08:30:00.500000Z",
    }
    assert json.loads(json.dumps(out)) == out
    assert parse_article(out, ZoneInfo("UTC")) == record


# --- articles: rejected ------------------------------------------------------------------------

DATE_HINT = "like '2023-02-03T15:30:00+07:00'"


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"id": ...}, "id", "is required"),
        ({"id": ""}, "id", "is required"),
        ({"id": 42}, "id", "must be a string, got number"),
        ({"id": "-abc"}, "id", "starting with a letter or digit, got '-abc'"),
        ({"id": ".abc"}, "id", "got '.abc'"),
        ({"id": " abc"}, "id", "got ' abc'"),
        ({"id": "a/b"}, "id", "A-Z a-z 0-9 . _ : -"),
        ({"id": "bài-1"}, "id", "got 'bài-1'"),
        ({"id": "x" * 201}, "id", "1-200 characters"),
        ({"url": ...}, "url", "is required"),
        (
            {"url": "bai-viet.html"},
            "url",
            "must be an absolute http or https URL, got 'bai-viet.html'",
        ),
        ({"url": "/tin/bai-viet.html"}, "url", "absolute http or https URL"),
        ({"url": "//cdn.vn/bai.html"}, "url", "absolute http or https URL"),
        ({"url": "ftp://a.vn/x"}, "url", "got 'ftp://a.vn/x'"),
        ({"url": "javascript:alert(1)"}, "url", "absolute http or https URL"),
        ({"url": "mailto:toa-soan@a.vn"}, "url", "absolute http or https URL"),
        ({"url": "https://"}, "url", "absolute http or https URL"),
        ({"url": "https:///duong-dan"}, "url", "absolute http or https URL"),
        ({"url": "https://exa mple.vn/"}, "url", "absolute http or https URL"),
        ({"url": "http://999.999.999.999/"}, "url", "absolute http or https URL"),
        ({"url": "http://a.vn:99999/"}, "url", "absolute http or https URL"),
        ({"url": "http://[::1/"}, "url", "absolute http or https URL"),
        ({"url": ["https://a.vn"]}, "url", "must be a string, got array"),
        ({"title": ...}, "title", "is required"),
        ({"title": " \u3000\n"}, "title", "is required"),
        ({"title": "\x07\ufffe\ud800"}, "title", "is required"),
        ({"title": 12}, "title", "must be a string, got number"),
        ({"title": None}, "title", "is required"),
        ({"summary": {"text": "x"}}, "summary", "must be a string, got object"),
        ({"content_html": ["<p>x</p>"]}, "content_html", "must be a string, got array"),
        ({"author": True}, "author", "must be a string, got boolean"),
        ({"categories": ...}, "categories", "is required"),
        ({"categories": []}, "categories", "at least one category slug"),
        (
            {"categories": "thoi-su"},
            "categories",
            'array of category slugs like ["thoi-su"], got string',
        ),
        ({"categories": {"0": "thoi-su"}}, "categories", "got object"),
        ({"categories": ["thoi-su", "Thoi Su"]}, "categories[1]", "got 'Thoi Su'"),
        ({"categories": ["thoi-su", 3]}, "categories[1]", "must be a string, got number"),
        ({"categories": [None]}, "categories[0]", "is required"),
        ({"categories": [["thoi-su"]]}, "categories[0]", "got array"),
        ({"categories": ["all"]}, "categories[0]", "'all' is reserved"),
        ({"image": "https://a.vn/p.jpg"}, "image", "must be an object like"),
        ({"image": [{"url": "https://a.vn/p.jpg"}]}, "image", "got array"),
        ({"image": {}}, "image.url", "is required"),
        ({"image": {"caption": "Ảnh"}}, "image.url", "is required"),
        (
            {"image": {"url": "p.jpg"}},
            "image.url",
            "must be an absolute http or https URL, got 'p.jpg'",
        ),
        ({"image": {"url": "data:image/png;base64,AAAA"}}, "image.url", "absolute http or https"),
        ({"image": {"url": "https://a.vn/p.jpg", "caption": 1}}, "image.caption", "got number"),
        (
            {"image": {"url": "https://a.vn/p.jpg", "mime_type": "text/html"}},
            "image.mime_type",
            "like 'image/jpeg', got 'text/html'",
        ),
        (
            {"image": {"url": "https://a.vn/p.jpg", "mime_type": "image/"}},
            "image.mime_type",
            "got 'image/'",
        ),
        (
            {"image": {"url": "https://a.vn/p.jpg", "mime_type": "image/jpeg; q=1"}},
            "image.mime_type",
            "image media type",
        ),
        ({"image": {"url": "https://a.vn/p.jpg", "length": True}}, "image.length", "got boolean"),
        ({"image": {"url": "https://a.vn/p.jpg", "length": 12.0}}, "image.length", "whole number"),
        ({"image": {"url": "https://a.vn/p.jpg", "length": "12"}}, "image.length", "got string"),
        ({"image": {"url": "https://a.vn/p.jpg", "length": -1}}, "image.length", "0 or more"),
        ({"image": {"url": "https://a.vn/p.jpg", "length": 2**63}}, "image.length", "below 2**63"),
        (
            {"image": {"url": "https://a.vn/p.jpg", "length": -(10**5000)}},
            "image.length",
            "0 or more",
        ),
        ({"published_at": ...}, "published_at", "is required"),
        ({"published_at": " "}, "published_at", "is required"),
        ({"published_at": 1675413000}, "published_at", "must be a string, got number"),
        ({"published_at": "03/02/2023"}, "published_at", DATE_HINT),
        ({"published_at": "03/02/2023 15:30"}, "published_at", "got '03/02/2023 15:30'"),
        ({"published_at": "Fri, 03 Feb 2023 15:30:00 +0700"}, "published_at", DATE_HINT),
        ({"published_at": "2023-02-03"}, "published_at", "a date alone has no time of day"),
        ({"published_at": "20230203T153000Z"}, "published_at", DATE_HINT),
        ({"published_at": "٢٠٢٣-٠٢-٠٣T15:30:00Z"}, "published_at", DATE_HINT),
        ({"published_at": "2023-02-30T10:00:00"}, "published_at", "is not a real date-time"),
        ({"published_at": "2023-02-03T25:00:00"}, "published_at", "is not a real date-time"),
        ({"published_at": "2023-02-03T23:59:60Z"}, "published_at", "is not a real date-time"),
        ({"published_at": "2023-02-03T10:00:00+24:00"}, "published_at", "offset +24:00"),
        (
            {"published_at": "1969-12-31T23:59:59Z"},
            "published_at",
            "between the years 1970 and 9999",
        ),
        ({"published_at": "1970-01-01T06:59:59+07:00"}, "published_at", "1970 and 9999"),
        ({"published_at": "0000-01-01T00:00:00Z"}, "published_at", "1970 and 9999"),
        ({"published_at": "9999-12-31T23:00:00-05:00"}, "published_at", "1970 and 9999"),
        ({"updated_at": "3/2/2023"}, "updated_at", DATE_HINT),
        ({"updated_at": False}, "updated_at", "got boolean"),
    ],
)
def test_article_rejected(changes: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(errors_of(parse_article, article(**changes), TZ), field, fragment)


def test_every_bad_field_is_listed() -> None:
    raw = {"id": "-x", "url": "bai-viet.html", "categories": ["ok", "Bad"], "image": {"length": -1}}
    errors = errors_of(parse_article, raw, TZ)
    fields = [e.field for e in errors]
    assert fields == [
        "id",
        "url",
        "title",
        "categories[1]",
        "image.url",
        "image.length",
        "published_at",
    ]
    error = RecordError(errors)
    assert str(error).startswith("id: must be 1-200 characters")
    assert "; url: must be an absolute http or https URL, got 'bai-viet.html'; title: " in str(
        error
    )
    assert isinstance(error, ValueError)
    assert pickle.loads(pickle.dumps(error)).errors == errors
    assert errors[0].to_json() == {"field": "id", "message": errors[0].message}


def test_long_bad_values_are_shortened_in_messages() -> None:
    errors = errors_of(parse_article, article(url="x" * 100_000), TZ)
    assert len(errors[0].message) < 200


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (QUOC_PHONG_NFD, QUOC_PHONG),
        ("a\x00b\x08c\x0bd\x0ce\x1ff", "abcdef"),
        ("tab\tnew\nline\rok", "tab\tnew\nline\rok"),
        ("c1\x80\x85\x9fgone", "c1gone"),
        ("non\ufffechar\uffffs", "nonchars"),
        ("lone\ud800high\udfffl", "lonehighl"),
        ("Qu\u006f\x01\u0302\u0301c", "Quốc"),  # the control no longer blocks composition
        ("\u00a0keeps \u00e9 and emoji \U0001f600", "\u00a0keeps é and emoji \U0001f600"),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_every_string_field_is_cleaned() -> None:
    dirty = QUOC_PHONG_NFD + "\x01\x85\ufffe\ud800"
    raw = article(
        title=dirty,
        summary=dirty,
        author=dirty,
        content_html=f"<p>{dirty}</p>",
        image={"url": BASE, "caption": dirty},
    )
    record = parse_article(raw, TZ)
    assert record.title == record.summary == record.author == QUOC_PHONG
    assert record.image is not None and record.image.caption == QUOC_PHONG
    assert record.content_html == f"<p>{QUOC_PHONG}</p>"
    category = parse_category({"slug": "q", "name": dirty, "description": dirty})
    assert category.name == category.description == QUOC_PHONG


def test_character_references_to_forbidden_characters_are_removed() -> None:
    html = "<p>a&#x1;b&#xFFFE;c&#x85;d&#0;e</p>"
    # &#0; becomes U+FFFD by the HTML parsing rules; &#x85; becomes "…" (its windows-1252 meaning).
    assert sanitize_html(html, BASE) == "<p>abc…d\ufffde</p>"


# --- HTML sanitizing ---------------------------------------------------------------------------

FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math"}


@pytest.mark.parametrize(
    "html",
    [
        "<p>ok</p><script>alert(1)</script>",
        "<p>ok</p><SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        '<p>ok</p><img src="x.jpg" onerror="alert(1)" alt="a">',
        '<p onclick="alert(1)" style="color:red" class="c" id="i" role="note">ok</p>',
        '<a href="javascript:alert(1)">ok</a>',
        '<a href="jav&#x61;script:alert(1)">ok</a>',
        '<a href="&#106;&#97;vascript:alert(1)">ok</a>',
        '<a href="java\tscript:alert(1)">ok</a>',
        '<a href=" JAVASCRIPT:alert(1)">ok</a>',
        '<a href="vbscript:msgbox(1)">ok</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">ok</a>',
        '<img src="data:image/png;base64,AAAA" alt="a"><p>ok</p>',  # no picture: removed
        '<img src="mailto:a@b.vn" alt="ok">',
        '<iframe src="https://www.youtube.com/embed/x">fallback</iframe><p>ok</p>',
        "<svg onload=alert(1)><text>t</text></svg><p>ok</p>",
        "<math><mi>x</mi></math><p>ok</p>",
        "<style>p{color:red}</style><p>ok</p>",
        '<object data="x.swf"></object><embed src="x.swf"><p>ok</p>',
        '<form action="/x"><input name="q"><button>go</button></form><p>ok</p>',
        '<p>ok<img src="x.jpg" loading="lazy" data-src="y.jpg" aria-label="z" alt="a"></p>',
        '<noscript><img src="x.jpg" alt="a"></noscript><p>ok</p>',
        "<p>ok<!-- a comment --></p>",
        '<a href="https://a.vn/" target="_blank" rel="opener">ok</a>',
    ],
)
def test_dangerous_html_is_removed(html: str) -> None:
    root = body(html)
    assert "ok" in root.text_content() + root.xpath("string(//img/@alt)")
    assert "alert" not in root.text_content() and "color" not in root.text_content()
    for element in root.iter():
        assert isinstance(element.tag, str), "comments must be stripped"
        assert element.tag not in FORBIDDEN_TAGS
        for name, value in element.attrib.items():
            assert not name.startswith(("on", "data-", "aria-"))
            assert name not in {"style", "class", "id", "loading", "role", "target"}
            if name in {"href", "src"}:
                allowed = {"http", "https"} | ({"mailto"} if name == "href" else set())
                assert urlsplit(value).scheme in allowed, value
        if element.tag == "a":
            assert element.get("rel") == "noopener noreferrer"


@pytest.mark.parametrize(
    ("html", "xpath", "expected"),
    [
        ("<p>Một</p><p>Hai</p>", "string(count(//p))", "2"),
        ('<a href="https://a.vn/x" title="T">l</a>', "string(//a/@title)", "T"),
        ('<a href="mailto:toa-soan@a.vn">l</a>', "string(//a/@href)", "mailto:toa-soan@a.vn"),
        (
            '<img src="https://a.vn/p.jpg" alt="Ảnh" width="600" height="400">',
            "string(//img/@alt)",
            "Ảnh",
        ),
        ('<img src="https://a.vn/p.jpg" alt="Ảnh" width="600">', "string(//img/@width)", "600"),
        (
            "<figure><img src='/p.jpg' alt='a'><figcaption>Chú thích</figcaption></figure>",
            "string(//figure/figcaption)",
            "Chú thích",
        ),
        ("<ul><li>1</li><li>2</li></ul><ol><li>3</li></ol>", "string(count(//li))", "3"),
        ("<dl><dt>a</dt><dd>b</dd></dl>", "string(//dl/dd)", "b"),
        (
            "<blockquote><p>Trích <q>dẫn</q> <cite>ai</cite></p></blockquote>",
            "string(//blockquote//cite)",
            "ai",
        ),
        (
            "<table><caption>Bảng</caption><thead><tr><th scope='col'>H</th></tr></thead>"
            "<tbody><tr><td colspan='2' rowspan='1'>D</td></tr></tbody></table>",
            "string(//td/@colspan)",
            "2",
        ),
        ("<table><tr><th scope='row'>H</th><td>D</td></tr></table>", "string(//th/@scope)", "row"),
        ("<h2>a</h2><h6>b</h6>", "string(count(//h2|//h6))", "2"),
        (
            "<p><strong>a</strong><em>b</em><b>c</b><i>d</i><u>e</u><s>f</s><sub>g</sub><sup>h</sup>"
            "<small>i</small><mark>j</mark><code>k</code></p>",
            "string(//p)",
            "abcdefghijk",
        ),
        ("<pre>x  = 1\n  y</pre>", "string(//pre)", "x  = 1\n  y"),
        ("<p>a<br>b</p><hr>", "string(count(//br|//hr))", "2"),
        (
            "<abbr title='Quân đội nhân dân'>QĐND</abbr>",
            "string(//abbr/@title)",
            "Quân đội nhân dân",
        ),
        ("<time datetime='2023-02-03'>3/2</time>", "string(//time/@datetime)", "2023-02-03"),
        ("<div><p>a</p></div><div>b</div>", "string(count(//div))", "2"),
        ("<span class='x'>giữ chữ</span>", "string(.)", "giữ chữ"),
        ("<h1>Tiêu đề</h1><custom-el>chữ</custom-el>", "string(.)", "Tiêu đềchữ"),
    ],
)
def test_ordinary_html_is_kept(html: str, xpath: str, expected: str) -> None:
    assert body(html).xpath(xpath) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/anh/p.jpg", "https://www.bienphong.com.vn/anh/p.jpg"),
        ("p.jpg", "https://www.bienphong.com.vn/tin-tuc/p.jpg"),
        ("../p.jpg", "https://www.bienphong.com.vn/p.jpg"),
        ("?trang=2", "https://www.bienphong.com.vn/tin-tuc/bai-viet.html?trang=2"),
        ("#muc-1", "https://www.bienphong.com.vn/tin-tuc/bai-viet.html#muc-1"),
        ("//cdn.bienphong.com.vn/p.jpg", "https://cdn.bienphong.com.vn/p.jpg"),
        ("https://khac.vn/p.jpg", "https://khac.vn/p.jpg"),
    ],
)
def test_relative_links_become_absolute(link: str, expected: str) -> None:
    root = body(f'<a href="{link}">a</a><img src="{link}" alt="b">')
    assert root.xpath("string(//a/@href)") == expected
    assert root.xpath("string(//img/@src)") == expected


def test_protocol_relative_link_follows_the_article_scheme() -> None:
    html = '<img src="//cdn.a.vn/p.jpg" alt="a">'
    assert 'src="http://cdn.a.vn/p.jpg"' in sanitize_html(html, "http://a.vn/bai.html")


def test_content_is_sanitized_against_the_article_url() -> None:
    raw = article(url="https://a.vn/tin/bai.html", content_html='<a href="khac.html">x</a><script>')
    record = parse_article(raw, TZ)
    assert record.content_html == (
        '<a href="https://a.vn/tin/khac.html" rel="noopener noreferrer">x</a>'
    )
    assert parse_article(record.to_json(), TZ).content_html == record.content_html


@pytest.mark.parametrize("base", ["", "bai.html", "ftp://a.vn/", "http://999.999.999.999/"])
def test_sanitize_html_needs_an_absolute_base(base: str) -> None:
    with pytest.raises(ValueError, match="absolute http or https URL"):
        sanitize_html("<p>x</p>", base)


# --- garbage in, RecordError out ---------------------------------------------------------------

FIELDS = [
    "id",
    "url",
    "title",
    "summary",
    "content_html",
    "author",
    "categories",
    "image",
    "published_at",
    "updated_at",
    "slug",
    "name",
    "description",
]
NASTY_TEXT = [
    "",
    " ",
    "all",
    "\ud800",
    "\ufffe",
    "\x00",
    "2023-02-03T15:30:00Z",
    "9999-12-31T23:59:59-23:59",
    "http://[::1",
    "https://a.vn/x",
    "<script>",
    "<a href='//x'>",
    "\u0301" * 50,
    "a" * 70_000,
    "image/jpeg",
    "thoi-su",
]


def garbage(rng: random.Random, depth: int = 0) -> object:
    """A random JSON-ish value: any type, odd numbers, hostile text, random nesting."""
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice(
            [0, -1, 1, 2**63, -(10**5000), 10**5000, 12.0, float("nan"), float("inf")]
        )
    if kind == 2:
        return rng.choice(NASTY_TEXT)
    if kind in (3, 4, 5):
        return "".join(
            chr(rng.choice([rng.randrange(0x110000), rng.randrange(0x300)]))
            for _ in range(rng.randrange(12))
        )
    if kind == 6:
        return [garbage(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return {rng.choice(FIELDS): garbage(rng, depth + 1) for _ in range(rng.randrange(5))}
    return {"url": garbage(rng, depth + 1), "length": garbage(rng, depth + 1)}


@pytest.mark.parametrize("seed", range(6))
def test_garbage_never_raises_anything_but_record_error(seed: int) -> None:
    rng = random.Random(seed)
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]
    inputs = [garbage(rng) for _ in range(60)] + [
        deep,
        {"categories": deep, "image": {"url": deep}},
    ]
    inputs += [article(**{rng.choice(FIELDS): garbage(rng)}) for _ in range(60)]
    inputs += [{field: garbage(rng) for field in FIELDS} for _ in range(60)]
    for raw in inputs:
        for parse in (parse_category, lambda r: parse_article(r, TZ)):
            try:
                record = parse(raw)
            except RecordError as error:
                assert error.errors and all(isinstance(e.field, str) for e in error.errors)
                assert str(error)
            else:
                assert isinstance(record, CategoryRecord | ArticleRecord)
                if isinstance(record, ArticleRecord):
                    assert json.dumps(record.to_json())
