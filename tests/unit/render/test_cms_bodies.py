"""Every CMS-shaped body of tests/data/cms, sent as an article, in every format: the picture,
the link to the video or the embedded page, the table are there, and nothing unsafe is.

Each format is parsed as a reader would: RSS ``content:encoded`` and Atom ``content`` with lxml,
JSON Feed ``content_html`` with json, both XML feeds with feedparser too; the page
``/feeds/SLUG.html`` shows the sapo and links to the article (the body stays on the paper's
site), so there the item is checked, and that no part of the body leaked in unsafely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest
from flask import Flask
from lxml import etree

from feedsvc.ingest.body import parse_srcset

from tests.helpers.app import NEWSROOM, article, load, services
from tests.helpers.paths import DATA

CMS = DATA / "cms"
SITE = "https://www.bienphong.com.vn"
CDN = "https://cdn.bienphong.com.vn"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
UNSAFE_ELEMENTS = {"script", "style", "iframe", "object", "embed", "video", "audio", "source"}
UNSAFE_ELEMENTS |= {"form", "input", "button", "svg", "math", "noscript", "template", "frame"}


@dataclass(frozen=True)
class Expected:
    """What a case's body must hold once published."""

    images: tuple[str, ...] = ()  # every <img src>, in order
    srcset: tuple[str, ...] = ()  # URLs the images' srcset must offer
    links: tuple[tuple[str, str], ...] = ()  # (href, text) of links that must be there
    captions: tuple[str, ...] = ()  # every <figcaption>, in order
    cells: tuple[tuple[str, str, str], ...] = ()  # (cell text, colspan, rowspan) of table cells
    absent: tuple[str, ...] = ()  # text that must not be in the body


YT = "https://www.youtube.com/watch?v="
CASES: dict[str, Expected] = {
    "lazy-data-src": Expected(
        images=(f"{SITE}/images/media/2023/02/03/dai-tuong-phan-van-giang.jpg",),
        captions=("Đại tướng Phan Văn Giang phát biểu chỉ đạo tại buổi làm việc. Ảnh: Hồng Pha",),
    ),
    "lazy-data-original": Expected(
        images=(f"{CDN}/images/2023/02/tuan-tra-song-phuong.jpg",),
    ),
    "lazy-data-lazy-src": Expected(
        images=(f"{SITE}/images/2023/02/cua-khau-huu-nghi.jpg",),  # the noscript copy is gone
        srcset=(
            f"{SITE}/images/2023/02/cua-khau-huu-nghi-640.jpg",
            f"{SITE}/images/2023/02/cua-khau-huu-nghi-1280.jpg",
        ),
        captions=("Xe hàng làm thủ tục thông quan tại cửa khẩu Hữu Nghị. Ảnh: Ngọc Hà",),
    ),
    "lazy-data-srcset": Expected(
        images=(f"{SITE}/images/2023/01/truong-sa-960.jpg",),
        srcset=(f"{SITE}/images/2023/01/truong-sa-480.jpg",),
        captions=("Cán bộ, chiến sĩ gói bánh chưng đón Tết. Ảnh: Quang Trung",),
    ),
    "lazy-placeholder-srcset": Expected(
        images=(f"{SITE}/images/2023/03/lop-hoc-2x.jpg",),
        srcset=(f"{SITE}/images/2023/03/lop-hoc-1x.jpg",),
    ),
    "lazy-picture": Expected(
        images=(f"{CDN}/images/2023/05/ruong-bac-thang.jpg",),
        captions=("Ruộng bậc thang ở Y Tý. Ảnh: Mạnh Cường",),
    ),
    "figure-caption": Expected(
        images=(f"{SITE}/images/media/2023/02/03/quang-canh.jpg",),
        captions=("Quang cảnh buổi làm việc. Ảnh: Hồng Pha",),
    ),
    "video-youtube": Expected(
        links=((f"{YT}dQw4w9WgXcQ", "Lễ thượng cờ tại đảo Song Tử Tây"),),
        captions=("Video: Lễ thượng cờ. Nguồn: Truyền hình Biên phòng",),
    ),
    "video-youtube-nocookie": Expected(
        links=((f"{YT}a1B2c3D4e5F&t=42s", "Xem video trên YouTube"),),
    ),
    "video-youtu-be": Expected(links=((f"{YT}Xy_9-ab12CD", "Xem video trên YouTube"),)),
    "video-facebook": Expected(
        links=(
            (
                "https://www.facebook.com/baobienphong/videos/1234567890123456/",
                "Xem video trên Facebook",
            ),
        ),
    ),
    "video-facebook-xfbml": Expected(
        links=(
            (
                "https://www.facebook.com/baobienphong/videos/9876543210987654/",
                "Xem video trên Facebook",
            ),
        ),
    ),
    "video-tiktok": Expected(
        links=(
            (
                "https://www.tiktok.com/@baobienphong/video/7212345678901234567",
                "Xem video trên TikTok",
            ),
        ),
    ),
    "video-tiktok-iframe": Expected(
        links=(
            (
                "https://www.tiktok.com/embed/v2/7298765432109876543",
                "Một ngày ở đồn biên phòng",
            ),
        ),
    ),
    "video-vimeo": Expected(links=(("https://vimeo.com/76979871/8272103f6e", "Mùa hoa ban"),)),
    "video-cms": Expected(
        images=(f"{SITE}/uploads/video/2023/04/dien-tap-poster.jpg",),  # the poster, linked
        links=((f"{SITE}/uploads/video/2023/04/dien-tap.mp4", "Diễn tập phòng, chống cháy rừng"),),
        absent=("Trình duyệt của bạn không hỗ trợ video",),
    ),
    "iframe-generic": Expected(
        links=(
            ("https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d3723.9", "Bản đồ vị trí đồn"),
            (
                f"{SITE}/widgets/binh-chon.html?id=42",
                f"{SITE}/widgets/binh-chon.html?id=42",
            ),
        ),
    ),
    "table": Expected(
        cells=(
            ("Chỉ tiêu", "", ""),
            ("Ma túy thu giữ", "", "2"),
            ("Nguồn: Bộ Tư lệnh Bộ đội Biên phòng", "3", ""),
        ),
    ),
    "video-only": Expected(
        links=(
            (
                f"{YT}Zz9_Yy8-Xx7",
                "Toàn cảnh lễ kỷ niệm 64 năm Ngày truyền thống Bộ đội Biên phòng",
            ),
        ),
    ),
    "broken-nested": Expected(
        images=(f"{SITE}/images/anh-trong-bang.jpg", f"{CDN}/images/muc-hai.jpg"),
        links=(
            (f"{YT}Brok3nHtm1A", "Video trong bảng"),
            (f"{SITE}/tin-tuc/lien-quan.html", "liên kết tương đối"),
            (f"{YT}Unc1osed-Xy", "Xem video trên YouTube"),
        ),
        captions=("Ảnh: Nguyễn Văn A",),
    ),
    "unsafe-attributes": Expected(
        images=(f"{SITE}/images/that.jpg",),  # the image whose only source was a script is gone
        srcset=(f"{SITE}/images/that-2x.jpg",),
        absent=("alert",),
    ),
}


def test_every_file_of_the_corpus_has_a_case() -> None:
    assert {path.stem for path in CMS.glob("*.html")} == set(CASES)


def record(name: str) -> dict[str, object]:
    return article(
        f"cms-{name}",
        "thoi-su",
        url=f"{SITE}/tin-tuc/{name}.html",
        title=f"Tin {name}",
        summary=f"Biên phòng - Sapo của bài {name}.",
        content_html=(CMS / f"{name}.html").read_text(encoding="utf-8"),
        published_at="2026-11-19T08:00:00+07:00",
    )


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, app: Flask) -> tuple[str, Flask]:
    """One case's article stored through ingest, its feeds regenerated."""
    name: str = request.param
    load(app, NEWSROOM, [record(name)])
    assert services(app).regenerator.run().ok
    return name, app


def fetch(app: Flask, fmt: str) -> bytes:
    response = app.test_client().get(f"/feeds/thoi-su.{fmt}")
    assert response.status_code == 200, fmt
    return response.data


def bodies(app: Flask) -> dict[str, str]:
    """The item's HTML as each format carries it."""
    rss = etree.fromstring(fetch(app, "rss"))
    atom = etree.fromstring(fetch(app, "atom"))
    json_feed = json.loads(fetch(app, "json"))
    [item] = rss.iter("item")
    [entry] = atom.iter(f"{ATOM}entry")
    assert entry.find(f"{ATOM}content").get("type") == "html"
    found = {
        "rss content:encoded": item.findtext(CONTENT),
        "rss description": item.findtext("description"),
        "atom content": entry.findtext(f"{ATOM}content"),
        "json content_html": json_feed["items"][0]["content_html"],
    }
    for fmt in ("rss", "atom"):
        [parsed] = feedparser.parse(fetch(app, fmt)).entries
        found[f"{fmt} via feedparser"] = parsed.content[0].value
    return found


def fragment(markup: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def check_safe(where: str, root: lxml.html.HtmlElement) -> None:
    """No active content, no event handler, no URL a reader could run."""
    for element in root.iter():
        assert isinstance(element.tag, str), f"{where}: a comment"
        assert element.tag not in UNSAFE_ELEMENTS, f"{where}: <{element.tag}>"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name != "style", f"{where}: {name}"
            assert "javascript:" not in value.lower().replace(" ", ""), f"{where}: {value}"
            urls = [u for u, _ in parse_srcset(value)] if name == "srcset" else [value]
            if name in ("href", "src", "srcset"):
                for url in urls:
                    allowed = ("http", "https", "mailto") if name == "href" else ("http", "https")
                    assert urlsplit(url).scheme in allowed, f"{where}: {name}={url}"


def check_expected(where: str, root: lxml.html.HtmlElement, expected: Expected) -> None:
    images = tuple(root.xpath("//img/@src"))
    assert images == expected.images, where
    srcsets = {url for value in root.xpath("//img/@srcset") for url, _ in parse_srcset(value)}
    if "feedparser" not in where:  # feedparser's sanitizer keeps no srcset
        assert set(expected.srcset) <= srcsets, where
    links = {(a.get("href"), " ".join(a.text_content().split())) for a in root.iter("a")}
    for href, label in expected.links:
        assert (href, label) in links, (where, href, label, links)
    captions = tuple(" ".join(c.text_content().split()) for c in root.iter("figcaption"))
    assert captions == expected.captions, where
    cells = {
        (" ".join(c.text_content().split()), c.get("colspan") or "", c.get("rowspan") or "")
        for c in root.xpath("//td | //th")
    }
    assert set(expected.cells) <= cells, (where, cells)
    if expected.cells:
        assert root.xpath("//table/caption/text()") == ["Kết quả năm 2022 so với năm 2021"]
        assert root.xpath("//table/thead/tr/th") and root.xpath("//table/tbody/tr/td")
    for text in expected.absent:
        assert text not in root.text_content(), where


def test_the_body_in_every_format(case: tuple[str, Flask]) -> None:
    name, app = case
    expected = CASES[name]
    found = bodies(app)
    for where, markup in found.items():
        assert markup, f"{name}: {where} is empty"
        root = fragment(markup)
        check_safe(f"{name}: {where}", root)
        if where != "rss description":  # the sapo: RSS 2.0 description, the body beside it
            check_expected(f"{name}: {where}", root, expected)
    assert fragment(found["rss description"]).text_content() == f"Biên phòng - Sapo của bài {name}."


def test_the_page_lists_the_item_safely(case: tuple[str, Flask]) -> None:
    name, app = case
    page = lxml.html.fromstring(fetch(app, "html"))
    [story] = page.xpath(f'//article[@id="tin-cms-{name}"]')
    assert story.xpath("string(.//h3)") == f"Tin {name}"
    assert story.xpath(".//h3/a/@href") == [f"{SITE}/tin-tuc/{name}.html"]
    assert story.xpath('string(.//p[@class="sapo"])') == f"Biên phòng - Sapo của bài {name}."
    check_safe(f"{name}: page", page.body)
    # The page shows the sapo; the body (its pictures, videos, tables) stays on the paper's site.
    assert not story.xpath(".//table | .//iframe | .//video")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_stored_body_is_stable(name: str, app: Flask) -> None:
    """Sending the same body again changes nothing: preparing it is deterministic."""
    load(app, NEWSROOM, [record(name)])
    client = app.test_client()
    auth = {"Authorization": "Bearer test-token-1"}
    stored = client.get(f"/api/v1/articles/cms-{name}", headers=auth).get_json()
    again = client.put(f"/api/v1/articles/cms-{name}", json=record(name), headers=auth)
    assert again.status_code == 200 and again.get_json() == stored


def test_the_body_files_are_shaped_like_the_seed_article() -> None:
    """Each body but the embed-only story has a sapo, paragraphs and the author's line last."""
    for path in CMS.glob("*.html"):
        root = fragment(path.read_text(encoding="utf-8"))
        if path.stem == "video-only":
            assert not root.xpath("//p"), path
            continue
        assert root.xpath("string(//p[1])").startswith("Biên phòng - "), path
        assert root.xpath("//p")[-1].xpath("string(.//strong)").strip(), path


def test_a_video_story_is_not_empty(app: Flask) -> None:
    """Before: the body of an embed-only story was dropped, and readers saw an empty item."""
    load(app, NEWSROOM, [record("video-only")])
    auth = {"Authorization": "Bearer test-token-1"}
    stored = app.test_client().get("/api/v1/articles/cms-video-only", headers=auth).get_json()
    assert stored["content_html"].count("<a ") == 1
