"""Every parser bounded (issue 13, "Build"): query values, JSON numbers, header lists, records and
the importer's lines each cost a bounded amount, however much a client sends, and a bad value is
a 400 (or a rejected line), never an exception.

Findings 4 and 7 have their own modules (test_huge_numbers.py, test_if_none_match_size.py); these
are the same class of bug found in the audit of the other parsers, each measured before the fix:
a 400 KiB Accept-Encoding took 75 ms to parse, a 400 KiB query of empty fields 200 ms for
``?limit``, an 8 MiB article whose categories are 1.7 million bad slugs 21 s and 1 GB (one
FieldError each), 100 KB of nested <div> in content_html over a second in the HTML sanitiser
(500 KB 43 s), and a file of blank lines kept a list of every one of their numbers.
"""

from __future__ import annotations

import io
import time
import tracemalloc
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from feedsvc.cli import read_lines
from feedsvc.http.conditional import MAX_ACCEPT_ENCODING, accepts_gzip, is_not_modified
from feedsvc.ingest.records import RecordError, parse_article
from feedsvc.web.limits import MAX_QUERY_CHARS, LimitError, parse_limit

from tests.helpers.app import TOKENS, article

KIB_400 = 400 * 1024
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _fastest(call: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of a few runs, in seconds: the cost of the code, not of a busy machine."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            call()
        except (LimitError, RecordError):
            pass
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize(
    "value", [",gzip" * (KIB_400 // 5), "gzip;q=0.5," * (KIB_400 // 11), "a," * (KIB_400 // 2)]
)
def test_a_huge_accept_encoding_gets_identity_unread(value: str) -> None:
    parse = getattr(accepts_gzip, "__wrapped__", accepts_gzip)  # the parser, not its cache
    assert parse(value) is False
    assert _fastest(lambda: parse(value)) < 0.001
    # Every real header is far below the bound and still negotiates as before.
    assert parse("gzip, deflate, br, zstd") is True
    assert parse("identity;q=1, *;q=0") is False
    assert parse(" " * (MAX_ACCEPT_ENCODING - 4) + "gzip") is True


def test_a_feed_with_a_huge_accept_encoding_is_served_as_identity(newsroom: Flask) -> None:
    response = newsroom.test_client().get(
        "/feeds/thoi-su.rss", headers={"Accept-Encoding": "gzip," * (KIB_400 // 5)}
    )
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_a_huge_if_modified_since_is_ignored_unread() -> None:
    date = "Tue, 14 Nov 2023 22:13:20 GMT"
    padded = " " * KIB_400 + date
    assert is_not_modified(None, padded, '"x"', 1_700_000_000, True) is False
    assert _fastest(lambda: is_not_modified(None, padded, '"x"', 1_700_000_000, True)) < 0.0001
    assert is_not_modified(None, f"  {date} ", '"x"', 1_700_000_000, True) is True


@pytest.mark.parametrize(
    "query",
    ["limit=5&" + "&" * KIB_400, "limit=5&" + "a&" * (KIB_400 // 2), "a=" + "%41" * KIB_400],
    ids=["empty-fields", "short-fields", "escapes"],
)
def test_a_huge_query_is_refused_unread(query: str) -> None:
    with pytest.raises(LimitError, match="longer than 8192 characters"):
        parse_limit(query, 50)
    assert _fastest(lambda: parse_limit(query, 50)) < 0.0001


def test_a_query_up_to_the_bound_is_read_quickly() -> None:
    query = "a&" * ((MAX_QUERY_CHARS - 8) // 2) + "limit=5"
    assert len(query) <= MAX_QUERY_CHARS
    assert parse_limit(query, 50) == 5
    assert _fastest(lambda: parse_limit(query, 50)) < 0.001  # parse_qsl took 4 ms


def test_a_huge_query_on_a_feed_is_a_400(newsroom: Flask) -> None:
    response = newsroom.test_client().get("/feeds/thoi-su.rss?limit=5&" + "a&" * (KIB_400 // 2))
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"


def test_a_categories_bomb_is_one_error() -> None:
    record = article("bp-1", "thoi-su")
    record["categories"] = ["X"] * 200_000
    with pytest.raises(RecordError) as caught:
        parse_article(record, TZ)
    assert [e.to_json() for e in caught.value.errors] == [
        {"field": "categories", "message": "must list at most 100 slugs, got 200000"}
    ]
    assert _fastest(lambda: parse_article(record, TZ)) < 0.05
    record["categories"] = ["thoi-su", "kinh-te"] * 50  # 100 is still a list
    assert parse_article(record, TZ).categories == ("thoi-su", "kinh-te")


def test_the_api_answers_a_categories_bomb_with_one_detail(newsroom: Flask) -> None:
    record = article("bp-1", "thoi-su")
    record["categories"] = ["X"] * 100_000
    response = newsroom.test_client().put(
        "/api/v1/articles/bp-1", json=record, headers={"Authorization": f"Bearer {TOKENS[0]}"}
    )
    assert response.status_code == 422
    assert response.get_json()["details"] == [
        {"field": "categories", "message": "must list at most 100 slugs, got 100000"}
    ]


# Markup whose parse cost grows with the square of its size (nh3's html5ever walks its stack of
# open elements for many tags): each took about a second at this size, 500 KB of nested <div>
# 43 s. The shapes cover the ways to deepen the stack: plain nesting, end tags that close
# nothing, formatting elements, and the self-closing-looking elements that nest after all:
# SVG/MathML content, and p, li, td inside the elements that let them nest.
DEEP_MARKUP = {
    "nested-divs": "<div>" * 20_000,
    "stray-end-tags": "<span>" * 2_600 + "</div>" * 2_600,
    "formatting-elements": "".join(f"<b id={i}>" for i in range(2500)) + "<p>x</p>" * 1250,
    "svg-content": "<svg>" + "<td>" * 3000 + "</x>" * 3000,
    "p-in-buttons": "<p><button>" * 3000,
    "p-in-tables": "<table><td><p>" * 2000,
    "li-in-dd": "<li><dd>" * 3000,
    "dotless-i": "<l\u0131nk>" * 5000 + "</p>" * 5000,  # not <link>, which never stays open
}


def _long_bodies() -> dict[str, str]:
    paragraph = "<p>Đồn Biên phòng phối hợp tuần tra song phương, bảo vệ chủ quyền; đoạn {i}.</p>\n"
    article = "<div>" + "".join(
        f"<p>Đoạn {i}: tuần tra biên giới{' – <a href=/x>xem thêm</a>' if i % 2 else ''}"
        f"{' <strong>quan trọng</strong>' if i % 3 == 0 else ''}.</p>"
        + ("<figure><img src=/p.jpg><figcaption>Ảnh</figcaption></figure>" if i % 10 == 0 else "")
        for i in range(300)
    )
    return {
        "1MB-of-paragraphs": "".join(paragraph.format(i=i) for i in range(12_000)),
        "long-article": article + "</div>",
        "big-table": "<table>" + ("<tr>" + "<td>ô</td>" * 6 + "</tr>") * 500 + "</table>",
        "long-list": "<ul>" + "<li>mục<br>" * 3000 + "</ul>",
    }


@pytest.mark.parametrize("body", DEEP_MARKUP.values(), ids=DEEP_MARKUP.keys())
def test_markup_too_deep_to_parse_is_refused_before_parsing(body: str) -> None:
    record = article("bp-1", "thoi-su", content_html=body)
    with pytest.raises(RecordError) as caught:
        parse_article(record, TZ)
    assert [e.field for e in caught.value.errors] == ["content_html"]
    assert "able to nest: too many for its" in caught.value.errors[0].message
    assert _fastest(lambda: parse_article(record, TZ)) < 0.05


@pytest.mark.parametrize("name", _long_bodies())
def test_long_articles_are_still_accepted(name: str) -> None:
    body = _long_bodies()[name]
    assert parse_article(article("bp-1", "thoi-su", content_html=body), TZ).content_html


def test_blank_lines_are_counted_not_kept() -> None:
    stream = io.BytesIO(b"\n" * 2_000_000 + b'{"id": "a"}\n' + b" \r\n" * 3)
    tracemalloc.start()
    try:
        first = next(read_lines(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first == (1, None, "blank line: JSON Lines needs one JSON object per line")
    assert peak < 1_000_000, f"{peak} bytes held for blank lines"
    stream.seek(0)
    lines = list(read_lines(stream))
    assert len(lines) == 2_000_001
    assert lines[-1] == (2_000_001, b'{"id": "a"}', None)  # the trailing blanks: not reported
    assert [n for n, _, _ in lines[:-1]] == list(range(1, 2_000_001))
