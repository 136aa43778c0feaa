"""Validation's fast paths decide exactly as the full checks they stand in for."""

from __future__ import annotations

import itertools
import pickle
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import nh3
import pytest

from feedsvc.ingest import records
from feedsvc.ingest.body import prepare_body
from feedsvc.ingest.records import ArticleRecord, ImageRecord, parse_article

BASE = "https://bienphong.example/thoi-su/bai-viet.html"

TRICKY_URLS = [
    "http://a.vn",
    "https://bienphong.example/x?y=1&z=2#f",
    "HTTPS://Example.COM:8080/Path",
    "http://localhost/",
    "http://a.b.c.d.e.f.g.example:0/",
    "http://123.example.com/",
    "http://example.123/",
    "http://999.999.999.999/",
    "http://1.2.3.4/",
    "http://0x7f.1/",
    "http://a.0x1f/",
    "http://xn--abc.vn/",
    "http://xn--nxasmq6b.com/",
    "http://a--b.vn/",
    "http://-a.vn/",
    "http://a-.vn/",
    "http://a..vn/",
    "http://a.vn./",
    "http://a.vn:65535/",
    "http://a.vn:65536/",
    "http://a.vn:99999/",
    "http://a.vn:/",
    "http://user:pass@a.vn/",
    "http://[::1]/",
    "http://[::1/",
    "http://a.vn\\path",
    "http://a.vn/đường-dẫn/ảnh.jpg?q=tiếng việt",
    "http://bücher.de/",
    "http://a.vK/",  # ends in the Kelvin sign, not an ASCII K
    "http:/a.vn",
    "http:a.vn",
    "ftp://a.vn/",
    "javascript://a.vn/%0aalert(1)",
    "http://a.vn/" + "x" * 5000,
    "http://" + "a" * 300 + ".vn/",
    "http://" + "a-" * 3000,
]


def variations() -> list[str]:
    """URLs assembled from small pieces, many of them odd."""
    schemes = ["http://", "HtTpS://", "ftp://", "http:/"]
    hosts = ["a.vn", "a-b.c", "a.1", "1.a", "x", "-x", "x-", "a_b.vn", "xn--x.y", "a.b.", "é.vn"]
    tails = ["", ":80", ":080", ":123456", "/p", "?q", "#f", "/%zz", "/ /", "@h"]
    return ["".join(p) for p in itertools.product(schemes, hosts, tails)]


def assert_same_verdict(url: str) -> None:
    if records._PLAIN_WEB_URL.fullmatch(url):
        assert records._parses_as_web_url(url), url
    expected = not records._UNSAFE_IN_URL.search(url) and records._parses_as_web_url(url)
    assert records._is_web_url(url) == expected, url


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_plain_url_fast_path_never_accepts_what_the_full_check_refuses(url: str) -> None:
    assert_same_verdict(url)


def test_plain_url_fast_path_on_assembled_urls() -> None:
    for url in variations():
        assert_same_verdict(url)


def test_plain_url_fast_path_takes_the_usual_urls() -> None:
    for url in ("https://bienphong.example/thoi-su/bai-1.html", "http://img.x.vn:8080/a.jpg?w=1"):
        assert records._PLAIN_WEB_URL.fullmatch(url), url


BODIES = [
    "<p>Không có liên kết.</p>",
    "<p>a</p><script>alert(1)</script><style>x</style>",
    '<p><a href="/tin/1.html">tương đối</a> <a href="https://x.vn/">tuyệt đối</a></p>',
    '<p><A HREF="../a.html">hoa</A></p>',
    '<p><img src="anh.jpg" alt="ảnh"><image src="b.png"></p>',
    '<p><img SRC="mailto:a@b.vn"><a href>trống</a><a href="?q=1">hỏi</a></p>',
    "<p>src and href as words only</p>",
    '<figure><img src="//cdn.x.vn/a.jpg"><figcaption>chú thích</figcaption></figure>',
    '<p onclick="x()" style="color:red" class="c">thuộc tính</p><!-- comment -->',
    "<table><tr><td colspan=2>ô</td></tr></table><iframe src=x></iframe>",
]


def reference_sanitize(html: str, base: str) -> str:
    """sanitize_html as it was: every option, the base URL included, built for each call."""
    cleaned = nh3.clean(
        prepare_body(records.clean_text(html), base),
        tags=set(records._HTML_TAGS),
        clean_content_tags=set(records._HTML_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in records._HTML_ATTRIBUTES.items()},
        attribute_filter=records._filter_attribute,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes=set(records._HTML_URL_SCHEMES),
        url_relative=("rewrite_with_base", base),
    )
    return records.clean_text(cleaned).strip()


@pytest.mark.parametrize("body", BODIES)
def test_sanitize_equals_a_cleaner_built_for_the_article(body: str) -> None:
    assert records.sanitize_html(body, BASE) == reference_sanitize(body, BASE)


def test_records_pickle_round_trip() -> None:
    record = parse_article(
        {
            "id": "a1",
            "url": BASE,
            "title": "Tin",
            "content_html": "<p>x</p>",
            "categories": ["thoi-su", "kinh-te"],
            "image": {"url": "https://x.vn/a.jpg", "caption": "c", "length": 3},
            "published_at": "2026-01-01T08:00:00+07:00",
        },
        ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    assert isinstance(record.image, ImageRecord)
    copy = pickle.loads(pickle.dumps(record))
    assert copy == record and isinstance(copy, ArticleRecord)
    assert copy.published_at == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
