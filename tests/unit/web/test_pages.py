"""Pages for people: ``/feeds/SLUG.html`` (rendered during regeneration, served like a feed) and
the index ``/``. Every check parses the HTML with lxml."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc.clock import FrozenClock
from feedsvc.http.conditional import parse_http_date
from feedsvc.render import PAGES, page
from feedsvc.render.feed import CategoryRef, Feed, Image, Item

from tests.helpers.app import article, category, load, services

BASE = "http://feeds.test"
HTML_TYPE = "text/html; charset=utf-8"
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
HN = ZoneInfo("Asia/Ho_Chi_Minh")
PHOTO = {
    "url": "https://bienphong.example/anh/hoi-nghi.jpg",
    "caption": "Quang cảnh. Ảnh: Hồng Pha",
}


def parse(response: TestResponse) -> lxml.html.HtmlElement:
    """The response body as an lxml HTML document (UTF-8, as the Content-Type says)."""
    parser = lxml.html.HTMLParser(encoding="utf-8")
    return lxml.html.document_fromstring(response.data, parser=parser)


def fetch(client: FlaskClient, path: str) -> lxml.html.HtmlElement:
    """GET ``path``; it must be a 200 HTML page."""
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == HTML_TYPE
    return parse(response)


def publish(app: Flask, *articles: dict[str, Any]) -> None:
    """Store more articles and regenerate, as the scheduler would."""
    load(app, [], list(articles))
    result = services(app).regenerator.run()
    assert result.ok, result.failed


def alternates(doc: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    return [(link.get("type"), link.get("href")) for link in doc.xpath('//link[@rel="alternate"]')]


def story(doc: lxml.html.HtmlElement, article_id: str) -> lxml.html.HtmlElement:
    (node,) = doc.xpath(f'//main//article[@id="tin-{article_id}"]')
    return node


def text(node: lxml.html.HtmlElement, xpath: str) -> str:
    (found,) = node.xpath(xpath)
    return str(found.text_content())


# --- the feed page -----------------------------------------------------------------------------


def test_page_is_registered_beside_the_feeds() -> None:
    assert PAGES["html"] == (page, HTML_TYPE)


def test_feed_page_head(newsroom: Flask) -> None:
    doc = fetch(newsroom.test_client(), "/feeds/thoi-su.html")
    assert doc.get("lang") == "vi"
    assert doc.xpath("//meta/@charset") == ["utf-8"]
    assert doc.xpath('//meta[@name="viewport"]/@content') == ["width=device-width, initial-scale=1"]
    assert doc.findtext(".//title") == "Báo Biên phòng – Thời sự"
    assert alternates(doc) == [(t, f"{BASE}/feeds/thoi-su.{fmt}") for fmt, t in FEED_TYPES.items()]
    assert doc.xpath('//link[@rel="canonical"]/@href') == [f"{BASE}/feeds/thoi-su.html"]
    assert doc.xpath('//link[@rel="stylesheet"]/@href') == [f"{BASE}/static/site.css"]
    assert doc.xpath("//script") == [], "readable without JavaScript"


def test_feed_page_semantics(newsroom: Flask) -> None:
    doc = fetch(newsroom.test_client(), "/feeds/thoi-su.html")
    assert len(doc.xpath("/html/body/header")) == 1 and len(doc.xpath("/html/body/main")) == 1
    assert text(doc, "//main//h1") == "Thời sự"
    assert doc.xpath("//main//article//h3/a") and doc.xpath("//main//article//time/@datetime")


def test_items_newest_first_with_sapo_author_and_link(newsroom: Flask) -> None:
    doc = fetch(newsroom.test_client(), "/feeds/thoi-su.html")
    assert doc.xpath("//main//article/@id") == ["tin-a2", "tin-a1"]
    a2 = story(doc, "a2")
    assert text(a2, ".//h3") == "Tin a2: Đồn Biên phòng tuần tra"
    assert a2.xpath(".//h3/a/@href") == ["https://bienphong.example/a2.html"]
    assert text(a2, './/p[@class="sapo"]') == "Biên phòng - Tóm tắt a2."
    assert text(a2, './/*[@class="author"]') == "Hồng Pha"
    # The body stays on the paper's site: the page shows the sapo and links out.
    assert "Nội dung a2." not in doc.text_content()
    assert a2.xpath('.//p[@class="more"]/a/@href') == ["https://bienphong.example/a2.html"]
    # a2 is also in Kinh tế: its other category is linked, not the page's own.
    assert a2.xpath('.//ul[@class="tags"]//a/@href') == [f"{BASE}/feeds/kinh-te.html"]


def test_all_page_lists_every_article_once(newsroom: Flask) -> None:
    doc = fetch(newsroom.test_client(), "/feeds/all.html")
    assert doc.xpath("//main//article/@id") == ["tin-a3", "tin-a2", "tin-a1"]
    assert text(doc, "//main//h1") == "Tất cả tin"
    assert alternates(doc) == [(t, f"{BASE}/feeds/all.{fmt}") for fmt, t in FEED_TYPES.items()]
    assert story(doc, "a2").xpath('.//ul[@class="tags"]//a/text()') == ["Thời sự", "Kinh tế"]


def test_subscribe_block(newsroom: Flask) -> None:
    doc = fetch(newsroom.test_client(), "/feeds/quoc-phong-an-ninh.html")
    (block,) = doc.xpath('//aside[@class="subscribe"]')
    assert text(block, ".//code") == f"{BASE}/feeds/quoc-phong-an-ninh.rss"
    links = [(a.get("type"), a.get("href")) for a in block.xpath('.//ul[@class="formats"]//a')]
    assert links == [(t, f"{BASE}/feeds/quoc-phong-an-ninh.{f}") for f, t in FEED_TYPES.items()]
    assert block.xpath(".//a/@href")[-1] == f"{BASE}/feeds.opml"


@pytest.mark.parametrize(
    ("published_at", "shown", "machine"),
    [
        (
            "2023-03-24T05:18:00+07:00",
            "Thứ sáu, 24/03/2023 05:18 GMT+7",
            "2023-03-24T05:18:00+07:00",
        ),
        (
            "2023-03-26T23:59:00+07:00",
            "Chủ nhật, 26/03/2023 23:59 GMT+7",
            "2023-03-26T23:59:00+07:00",
        ),
        # Sent in UTC, shown in FEEDSVC_TIMEZONE: past midnight in Hà Nội, so Monday.
        ("2023-03-19T17:30:00Z", "Thứ hai, 20/03/2023 00:30 GMT+7", "2023-03-20T00:30:00+07:00"),
        # Sent without an offset: read in FEEDSVC_TIMEZONE (INTERFACE.md, Records).
        ("2023-03-21T08:05:00", "Thứ ba, 21/03/2023 08:05 GMT+7", "2023-03-21T08:05:00+07:00"),
    ],
)
def test_time_in_the_papers_style(
    newsroom: Flask, published_at: str, shown: str, machine: str
) -> None:
    publish(newsroom, article("t1", "thoi-su", published_at=published_at))
    node = story(fetch(newsroom.test_client(), "/feeds/thoi-su.html"), "t1")
    (time,) = node.xpath(".//time")
    assert (time.text_content(), time.get("datetime")) == (shown, machine)


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_TIMEZONE": "UTC"}])
def test_time_follows_the_configured_zone(newsroom: Flask) -> None:
    publish(newsroom, article("t1", "thoi-su", published_at="2023-03-24T05:18:00+07:00"))
    node = story(fetch(newsroom.test_client(), "/feeds/thoi-su.html"), "t1")
    assert text(node, ".//time") == "Thứ năm, 23/03/2023 22:18 GMT+0"
    assert node.xpath(".//time/@datetime") == ["2023-03-23T22:18:00+00:00"]


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (
            datetime(2023, 3, 20, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ hai, 20/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 21, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ ba, 21/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 22, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ tư, 22/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 23, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ năm, 23/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 24, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ sáu, 24/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 25, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Thứ bảy, 25/03/2023 08:00 GMT+7",
        ),
        (
            datetime(2023, 3, 26, 1, 0, tzinfo=UTC),
            "Asia/Ho_Chi_Minh",
            "Chủ nhật, 26/03/2023 08:00 GMT+7",
        ),
        (datetime(2023, 3, 24, 1, 0, tzinfo=UTC), "UTC", "Thứ sáu, 24/03/2023 01:00 GMT+0"),
        (
            datetime(2023, 3, 24, 1, 0, tzinfo=UTC),
            "Asia/Kolkata",
            "Thứ sáu, 24/03/2023 06:30 GMT+5:30",
        ),
        (
            datetime(2023, 1, 5, 1, 0, tzinfo=UTC),
            "America/St_Johns",
            "Thứ tư, 04/01/2023 21:30 GMT-3:30",
        ),
        (
            datetime(2023, 1, 5, 1, 0, tzinfo=UTC),
            "Asia/Kathmandu",
            "Thứ năm, 05/01/2023 06:45 GMT+5:45",
        ),
    ],
)
def test_newspaper_time(moment: datetime, zone: str, shown: str) -> None:
    assert page.newspaper_time(moment, ZoneInfo(zone)) == shown


def test_newspaper_time_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        page.newspaper_time(datetime(2023, 3, 24, 5, 18), HN)


def test_photo_alt_caption_and_loading(newsroom: Flask) -> None:
    publish(
        newsroom,
        *[
            article(f"p{n}", "thoi-su", published_at=f"2026-11-19T1{n}:00:00+07:00", image=PHOTO)
            for n in range(5)
        ],
        article(
            "bare", "thoi-su", published_at="2026-11-19T07:00:00+07:00", image={"url": PHOTO["url"]}
        ),
    )
    doc = fetch(newsroom.test_client(), "/feeds/thoi-su.html")
    images = doc.xpath("//main//article//figure/img")
    assert [img.get("loading") for img in images] == ["eager"] * 3 + ["lazy"] * 3
    p4 = story(doc, "p4")
    (img,) = p4.xpath(".//figure/img")
    assert (img.get("src"), img.get("alt")) == (PHOTO["url"], PHOTO["caption"])
    assert text(p4, ".//figure/figcaption") == PHOTO["caption"]
    bare = story(doc, "bare")
    assert bare.xpath(".//figure/img/@alt") == [""] and bare.xpath(".//figcaption") == []
    assert story(doc, "a1").xpath(".//figure") == []


HOSTILE_TITLE = "<script>alert('x')</script> & \"Tin\" <Mắt biếc>"
# Plain text once ingested: the script was markup, "<Mắt biếc>" is text (docs/interface.md).
HOSTILE_TITLE_TEXT = '& "Tin" <Mắt biếc>'
HOSTILE_CAPTION = '" onerror="alert(1)'


def test_hostile_text_is_escaped(newsroom: Flask) -> None:
    load(newsroom, [category("nguy-hiem", "<i>Nguy</i> & hiểm", "<b>mô tả</b>")], [])
    publish(
        newsroom,
        article(
            "evil",
            "nguy-hiem",
            title=HOSTILE_TITLE,
            summary="<img src=x onerror=alert(1)>x<y",
            author="<b>Hồng Pha</b>",
            image={"url": PHOTO["url"], "caption": HOSTILE_CAPTION},
        ),
    )
    response = newsroom.test_client().get("/feeds/nguy-hiem.html")
    doc = parse(response)
    assert doc.xpath("//script") == [] and doc.xpath("//@onerror") == []
    assert "&lt;Mắt biếc&gt;".encode() in response.data
    node = story(doc, "evil")
    assert text(node, ".//h3") == HOSTILE_TITLE_TEXT
    assert text(node, './/p[@class="sapo"]') == "x<y"
    assert text(node, './/*[@class="author"]') == "Hồng Pha"
    assert node.xpath(".//figure/img/@alt") == [HOSTILE_CAPTION]
    assert text(doc, "//main//h1") == "Nguy & hiểm"
    assert doc.xpath("//main//i | //main//b") == []


def test_empty_category(newsroom: Flask) -> None:
    load(newsroom, [category("van-hoa", "Văn hóa")], [])
    assert services(newsroom).regenerator.run().ok
    doc = fetch(newsroom.test_client(), "/feeds/van-hoa.html")
    assert doc.xpath("//main//article") == []
    assert text(doc, '//p[@class="empty"]') == "Chưa có tin nào trong chuyên mục này."


# --- rendering without the app: escaping of URLs, determinism ----------------------------------


def make_feed(*items: Item) -> Feed:
    return Feed(
        key="thoi-su",
        title="Báo Biên phòng – Thời sự",
        description="Tin thời sự",
        site_url="https://bienphong.example",
        site_title="Báo Biên phòng",
        base_url=BASE,
        timezone=HN,
        last_modified=datetime(2023, 3, 24, 5, 18, tzinfo=HN),
        max_age=60,
        items=items,
        category=CategoryRef("thoi-su", "Thời sự"),
    )


def make_item(article_id: str, url: str, image_url: str) -> Item:
    moment = datetime(2023, 3, 24, 5, 18, tzinfo=HN)
    return Item(
        id=f"tag:bienphong.example,2026:article/{article_id}",
        article_id=article_id,
        url=url,
        title=f"Tin {article_id}",
        published=moment,
        updated=moment,
        image=Image(url=image_url, caption="Ảnh: Hồng Pha"),
    )


def test_only_web_urls_become_links_or_images() -> None:
    feed = make_feed(make_item("x1", "javascript:alert(1)", "data:image/png;base64,AAAA"))
    doc = lxml.html.document_fromstring(page.render(feed))
    node = story(doc, "x1")
    assert node.xpath(".//a[not(starts-with(@href, 'http'))]") == []
    assert node.xpath(".//img") == [] and text(node, ".//h3") == "Tin x1"


def test_same_feed_same_bytes() -> None:
    items = [
        make_item(f"d{n}", f"https://bienphong.example/d{n}.html", PHOTO["url"]) for n in range(3)
    ]
    first = page.render(make_feed(*items))
    assert first == page.render(make_feed(*items))
    assert first.startswith(b"<!doctype html>")


# --- served like a feed --------------------------------------------------------------------------


def test_caching_headers_and_304(newsroom: Flask) -> None:
    client = newsroom.test_client()
    response = client.get("/feeds/thoi-su.html")
    h = response.headers
    assert h["ETag"].startswith('"') and not h["ETag"].startswith("W/")
    assert h["Cache-Control"] == "public, max-age=60, stale-if-error=86400"
    assert h["xkey"] == "feedsvc feed.thoi-su feed.thoi-su.html format.html"
    assert h["Vary"] == "Accept-Encoding" and h["X-Content-Type-Options"] == "nosniff"
    last_modified, date = parse_http_date(h["Last-Modified"]), parse_http_date(h["Date"])
    assert last_modified is not None and date is not None and last_modified <= date
    for validator in ({"If-None-Match": h["ETag"]}, {"If-Modified-Since": h["Last-Modified"]}):
        again = client.get("/feeds/thoi-su.html", headers=validator)
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == h["ETag"]
    head = client.head("/feeds/thoi-su.html")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == h["ETag"]


def test_gzip_variant(newsroom: Flask) -> None:
    client = newsroom.test_client()
    identity = client.get("/feeds/thoi-su.html")
    zipped = client.get("/feeds/thoi-su.html", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] != identity.headers["ETag"]
    assert gzip.decompress(zipped.data) == identity.data


@pytest.mark.parametrize(
    "query", ["limit=1", "limit=0", "limit=abc", "limit=-1", "limit=999", "x=1"]
)
def test_limit_is_ignored(newsroom: Flask, query: str) -> None:
    client = newsroom.test_client()
    whole = client.get("/feeds/thoi-su.html")
    response = client.get(f"/feeds/thoi-su.html?{query}")
    assert response.status_code == 200
    assert response.data == whole.data and response.headers["ETag"] == whole.headers["ETag"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/feeds/khong-co.html", 404), ("POST", "/feeds/thoi-su.html", 405)],
)
def test_errors(newsroom: Flask, method: str, path: str, status: int) -> None:
    assert newsroom.test_client().open(path, method=method).status_code == status


def test_page_changes_with_the_feed(newsroom: Flask) -> None:
    client = newsroom.test_client()
    before = client.get("/feeds/thoi-su.html").headers["ETag"]
    publish(newsroom, article("new", "thoi-su", published_at="2026-11-19T11:00:00+07:00"))
    after = client.get("/feeds/thoi-su.html")
    assert after.headers["ETag"] != before
    assert parse(after).xpath("//main//article/@id")[0] == "tin-new"


# --- the index -----------------------------------------------------------------------------------


def test_index(newsroom: Flask) -> None:
    response = newsroom.test_client().get("/")
    assert response.headers["Content-Type"] == HTML_TYPE
    doc = parse(response)
    assert doc.get("lang") == "vi"
    found = alternates(doc)
    assert found[:3] == [(t, f"{BASE}/feeds/all.{fmt}") for fmt, t in FEED_TYPES.items()]
    slugs = ["kinh-te", "quoc-phong-an-ninh", "thoi-su"]
    assert found[3:] == [(FEED_TYPES["rss"], f"{BASE}/feeds/{slug}.rss") for slug in slugs]
    cards = doc.xpath('//ul[@class="cards"]/li')
    assert [card.xpath(".//h3/a/@href")[0] for card in cards] == [
        f"{BASE}/feeds/{key}.html" for key in ["all", *slugs]
    ]
    assert [text(card, ".//code") for card in cards] == [
        f"{BASE}/feeds/{key}.rss" for key in ["all", *slugs]
    ]
    assert doc.xpath('//aside[@class="subscribe"]//a/@href')[-1] == f"{BASE}/feeds.opml"
    assert "/feeds/quoc-phong-an-ninh.rss" in response.text
    assert doc.xpath("//script") == []


@pytest.mark.parametrize("path", ["/", "/feeds.opml"])
def test_lists_without_a_category_have_no_date(client: FlaskClient, path: str) -> None:
    full = client.get(path)
    assert full.status_code == 200 and "Last-Modified" not in full.headers
    again = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and "Last-Modified" not in again.headers


def test_index_escapes_and_caches(newsroom: Flask) -> None:
    load(newsroom, [category("nguy-hiem", "<script>x</script><Nguy hiểm>", "<b>mô tả</b>")], [])
    client = newsroom.test_client()
    response = client.get("/")
    doc = parse(response)
    assert doc.xpath("//script") == [] and doc.xpath("//main//b") == []
    assert text(doc, '//li[@id="chuyen-muc-nguy-hiem"]//h3') == "<Nguy hiểm>"
    again = client.get("/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_page_shows_the_newest_twenty(newsroom: Flask) -> None:
    load(
        newsroom,
        [],
        [
            article(f"p{i:02d}", "thoi-su", published_at=f"2026-11-18T{i:02d}:00:00+07:00")
            for i in range(24)
        ],
    )
    services(newsroom).regenerator.run()
    client = newsroom.test_client()
    document = lxml.html.fromstring(client.get("/feeds/thoi-su.html").data)
    links = [
        a.get("href") for a in document.xpath("//main//article//h2//a | //main//article//h3//a")
    ]
    feed_urls = [i["url"] for i in json.loads(client.get("/feeds/thoi-su.json").data)["items"]]
    assert page.PAGE_ITEMS == 20 and len(feed_urls) > 20
    assert links == feed_urls[:20]


# --- the index and the OPML list: served like feeds (issue 14, problem 7) ------------------------

LISTS = {"/": HTML_TYPE, "/feeds.opml": "text/x-opml; charset=utf-8"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_are_gzipped_with_an_etag_per_encoding(newsroom: Flask, path: str) -> None:
    client = newsroom.test_client()
    identity = client.get(path)
    zipped = client.get(path, headers=GZIP)
    assert "Content-Encoding" not in identity.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == identity.data
    for response in (identity, zipped):
        h = response.headers
        assert response.status_code == 200 and h["Content-Type"] == LISTS[path]
        assert int(h["Content-Length"]) == len(response.data)
        assert h["Vary"] == "Accept-Encoding"
        assert h["Cache-Control"] == "public, max-age=60, stale-if-error=86400"
        page_name = "index" if path == "/" else "opml"
        assert h["Surrogate-Key"] == h["xkey"] == f"feedsvc page.{page_name}"
        assert h["Cache-Tag"] == f"feedsvc,page.{page_name}"
        assert h["ETag"].startswith('"') and h["Last-Modified"] == identity.headers["Last-Modified"]
    assert zipped.headers["ETag"] != identity.headers["ETag"]
    # Refused gzip, or no Accept-Encoding at all: identity.
    assert client.get(path, headers={"Accept-Encoding": "gzip;q=0"}).data == identity.data
    head = client.head(path, headers=GZIP)
    assert head.data == b"" and head.headers["ETag"] == zipped.headers["ETag"]
    assert head.headers["Content-Length"] == zipped.headers["Content-Length"]


@pytest.mark.parametrize("path", sorted(LISTS))
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_lists_304_carry_every_validator(newsroom: Flask, path: str, encoding: str) -> None:
    client = newsroom.test_client()
    accept = GZIP if encoding == "gzip" else {}
    full = client.get(path, headers=accept)
    validators = [
        {"If-None-Match": full.headers["ETag"]},
        {"If-Modified-Since": full.headers["Last-Modified"]},
    ]
    for validator in validators:
        again = client.get(path, headers={**accept, **validator})
        assert again.status_code == 304 and again.data == b"", validator
        for name in ("ETag", "Last-Modified", "Cache-Control", "Vary", "X-Content-Type-Options"):
            assert again.headers[name] == full.headers[name], (validator, name)
        assert "Content-Encoding" not in again.headers and "Content-Type" not in again.headers
    # Each encoding's ETag validates that encoding only.
    other = {} if encoding == "gzip" else GZIP
    crossed = client.get(path, headers={**other, "If-None-Match": full.headers["ETag"]})
    assert crossed.status_code == 200


def test_lists_change_with_the_categories(newsroom: Flask, clock: FrozenClock) -> None:
    client = newsroom.test_client()
    before = {path: client.get(path, headers=GZIP).headers for path in LISTS}
    clock.advance(5)
    load(newsroom, [category("bien-gioi", "Biên giới")], [])
    for path in LISTS:
        after = client.get(path, headers={**GZIP, "If-None-Match": before[path]["ETag"]})
        assert after.status_code == 200 and b"bien-gioi" in gzip.decompress(after.data)
        moved = parse_http_date(after.headers["Last-Modified"])
        assert moved is not None and moved == parse_http_date(before[path]["Last-Modified"]) + 5


def test_every_opml_outline_links_to_its_page(newsroom: Flask) -> None:
    """``all`` included: its outline's htmlUrl is /feeds/all.html, not the newspaper's site."""
    root = lxml.etree.fromstring(newsroom.test_client().get("/feeds.opml").data)
    outlines = root.findall("body/outline")
    keys = ["all", "kinh-te", "quoc-phong-an-ninh", "thoi-su"]
    assert [o.get("xmlUrl") for o in outlines] == [f"{BASE}/feeds/{k}.rss" for k in keys]
    assert [o.get("htmlUrl") for o in outlines] == [f"{BASE}/feeds/{k}.html" for k in keys]
    for outline in outlines:  # and each page is there
        path = str(outline.get("htmlUrl")).removeprefix(BASE)
        assert newsroom.test_client().get(path).status_code == 200, path
