"""Preparing CMS bodies: lazy images, embeds, and the rules behind them, case by case."""

from __future__ import annotations

import random

import lxml.html
import pytest

from feedsvc.ingest.body import parse_srcset, prepare_body, video_page
from feedsvc.ingest.records import sanitize_html

BASE = "https://www.bienphong.com.vn/tin-tuc/bai-viet.html"
SITE = "https://www.bienphong.com.vn"


def images(body: str) -> list[dict[str, str]]:
    root = lxml.html.fragment_fromstring(sanitize_html(body, BASE), create_parent="div")
    return [dict(img.attrib) for img in root.iter("img")]


def links(body: str) -> list[tuple[str, str]]:
    root = lxml.html.fragment_fromstring(sanitize_html(body, BASE), create_parent="div")
    return [(a.get("href", ""), a.text_content()) for a in root.iter("a")]


@pytest.mark.parametrize(
    "body",
    [
        "<p>Không có ảnh.</p>",
        '<p><img src="/a.jpg" alt="Ảnh"></p>',
        '<figure><img src="https://x.vn/a.jpg"><figcaption>Ảnh: Hồng Pha</figcaption></figure>',
        "<table><tr><td colspan=2>ô</td></tr></table>",
    ],
)
def test_a_body_without_lazy_images_or_embeds_is_left_as_it_is(body: str) -> None:
    assert prepare_body(body, BASE) is body


@pytest.mark.parametrize(
    ("img", "src"),
    [
        ('<img data-src="/a.jpg" src="data:image/gif;base64,R0l">', f"{SITE}/a.jpg"),
        ('<img data-original="a.jpg" src="/images/blank.gif">', f"{SITE}/tin-tuc/a.jpg"),
        ('<img data-lazy-src="//cdn.x.vn/a.jpg">', "https://cdn.x.vn/a.jpg"),
        ('<img data-lazy="/a.jpg" src="/loading.gif">', f"{SITE}/a.jpg"),
        # The lazy source wins whatever src holds: it is what the page shows once loaded.
        ('<img data-src="/big.jpg" src="/small.jpg">', f"{SITE}/big.jpg"),
        ('<img src="/a.jpg" data-src="javascript:alert(1)">', f"{SITE}/a.jpg"),
        ('<img src="/spacer.gif" srcset="/a-1x.jpg 1x, /a-2x.jpg 2x">', f"{SITE}/a-2x.jpg"),
        ('<img src="/x.gif" width="1" height="1" srcset="/a.jpg 640w">', f"{SITE}/a.jpg"),
        ('<img data-srcset="/a-480.jpg 480w, /a-960.jpg 960w">', f"{SITE}/a-960.jpg"),
        # A space inside is percent-encoded, as a browser does (nh3 encodes the rest).
        ('<img data-src="/ảnh bài.jpg">', f"{SITE}/%E1%BA%A3nh%20b%C3%A0i.jpg"),
        (
            '<picture><source data-srcset="/a.webp" type="image/webp"><img src="/blank.gif">'
            "</picture>",
            f"{SITE}/a.webp",
        ),
    ],
)
def test_a_lazy_image_gets_its_picture(img: str, src: str) -> None:
    [attributes] = images(f"<p>{img}</p>")
    assert attributes["src"] == src


@pytest.mark.parametrize(
    "img",
    [
        '<img src="data:image/gif;base64,R0l" alt="x">',
        '<img src="/images/spacer.gif">',
        '<img data-src="javascript:alert(1)" src="/blank.gif">',
        '<img src="/pixel.png" width="1" height="1">',
        '<img src="/a.png" width="0" height="0">',
    ],
)
def test_an_image_without_a_picture_is_removed_and_the_text_after_it_kept(img: str) -> None:
    body = f"<p>trước {img} sau</p><p>ok</p>"
    assert images(body) == []
    assert "trước" in sanitize_html(body, BASE) and "sau" in sanitize_html(body, BASE)


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("blank.gif", True),
        ("spacer.gif", True),
        ("lazy-placeholder.png", True),
        ("grey_1x1.png", True),
        ("loading-icon-32x32.gif", True),
        ("pixel.png", True),
        ("blank-page-of-history.jpg", False),  # a picture whose name has a placeholder's word
        ("lazy-sunday-afternoon.jpg", False),
        ("tuan-tra.jpg", False),
    ],
)
def test_a_placeholder_is_told_by_its_whole_file_name(name: str, placeholder: bool) -> None:
    body = f'<p>Ảnh <img src="/images/{name}" alt="a"><iframe src="/w.html"></iframe></p>'
    assert (images(body) == []) is placeholder


def test_a_placeholder_size_goes_with_the_placeholder() -> None:
    [attributes] = images('<img data-src="/a.jpg" src="/x.gif" width="1" height="1">')
    assert "width" not in attributes and "height" not in attributes
    [kept] = images('<img data-src="/a.jpg" src="/x.gif" width="640" height="360">')
    assert (kept["width"], kept["height"]) == ("640", "360")


def test_srcset_candidates_are_absolute_web_urls() -> None:
    [attributes] = images(
        '<img src="/a.jpg" srcset="/a-1x.jpg 1x, javascript:alert(1) 2x, data:x 3x, '
        'https://cdn.x.vn/a,w_800.jpg 800w">'
    )
    assert parse_srcset(attributes["srcset"]) == [
        (f"{SITE}/a-1x.jpg", "1x"),
        ("https://cdn.x.vn/a,w_800.jpg", "800w"),
    ]
    # With no candidate left, no srcset.
    [alone] = images('<img src="/a.jpg" srcset="javascript:alert(1) 2x">')
    assert "srcset" not in alone


@pytest.mark.parametrize(
    ("value", "candidates"),
    [
        ("a.jpg", [("a.jpg", "")]),
        ("a.jpg 1x,b.jpg 2x", [("a.jpg", "1x"), ("b.jpg", "2x")]),
        ("  a.jpg  640w ,  b.jpg 1280w  ", [("a.jpg", "640w"), ("b.jpg", "1280w")]),
        ("a.jpg, b.jpg 2x", [("a.jpg", ""), ("b.jpg", "2x")]),
        ("https://c.vn/a,w_300.jpg 300w", [("https://c.vn/a,w_300.jpg", "300w")]),
        (",,, ,", []),
        ("", []),
    ],
)
def test_srcset_is_parsed_as_html_parses_it(value: str, candidates: list[tuple[str, str]]) -> None:
    assert parse_srcset(value) == candidates


YT = "https://www.youtube.com/watch?v="


@pytest.mark.parametrize(
    ("address", "page"),
    [
        ("https://www.youtube.com/embed/dQw4w9WgXcQ", (f"{YT}dQw4w9WgXcQ", "YouTube")),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ?start=9", (f"{YT}dQw4w9WgXcQ&t=9s", "YouTube")),
        ("https://www.youtube-nocookie.com/embed/a1B2c3D4e5F", (f"{YT}a1B2c3D4e5F", "YouTube")),
        ("https://youtu.be/Xy_9-ab12CD?t=15", (f"{YT}Xy_9-ab12CD&t=15s", "YouTube")),
        ("https://m.youtube.com/watch?v=Xy_9-ab12CD", (f"{YT}Xy_9-ab12CD", "YouTube")),
        ("https://www.youtube.com/shorts/Xy_9-ab12CD", (f"{YT}Xy_9-ab12CD", "YouTube")),
        (
            "https://www.youtube.com/embed/videoseries?list=PL123",
            ("https://www.youtube.com/playlist?list=PL123", "YouTube"),
        ),
        ("https://www.youtube.com/embed/", None),
        ("https://player.vimeo.com/video/76979871", ("https://vimeo.com/76979871", "Vimeo")),
        (
            "https://player.vimeo.com/video/76979871?h=8272103f6e",
            ("https://vimeo.com/76979871/8272103f6e", "Vimeo"),
        ),
        (
            "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com"
            "%2Fbaobienphong%2Fvideos%2F123%2F&width=560",
            ("https://www.facebook.com/baobienphong/videos/123/", "Facebook"),
        ),
        (
            # A plugin whose href points elsewhere links to the plugin itself, never elsewhere.
            "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fevil.example%2F",
            (
                "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fevil.example%2F",
                "Facebook",
            ),
        ),
        (
            "https://www.facebook.com/video/embed?video_id=456",
            ("https://www.facebook.com/watch/?v=456", "Facebook"),
        ),
        (
            "https://www.tiktok.com/embed/v2/7212345678901234567",
            ("https://www.tiktok.com/embed/v2/7212345678901234567", "TikTok"),
        ),
        (
            "https://www.tiktok.com/player/v1/7212345678901234567?autoplay=0",
            ("https://www.tiktok.com/embed/v2/7212345678901234567", "TikTok"),
        ),
        ("https://www.google.com/maps/embed?pb=1", None),
        ("https://notyoutube.com/embed/x", None),
    ],
)
def test_known_players_link_to_the_video_page(address: str, page: tuple[str, str] | None) -> None:
    assert video_page(address) == page


@pytest.mark.parametrize(
    ("embed", "link"),
    [
        (
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="Lễ chào cờ"></iframe>',
            (f"{YT}dQw4w9WgXcQ", "Lễ chào cờ"),
        ),
        (
            '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player">'
            "</iframe>",
            (f"{YT}dQw4w9WgXcQ", "Xem video trên YouTube"),
        ),
        (
            '<iframe src="about:blank" data-src="https://player.vimeo.com/video/1"></iframe>',
            ("https://vimeo.com/1", "Xem video trên Vimeo"),
        ),
        (
            '<embed src="https://www.youtube.com/v/dQw4w9WgXcQ" type="application/x-shockwave">',
            (f"{YT}dQw4w9WgXcQ", "Xem video trên YouTube"),
        ),
        (
            '<video src="/v.mp4" aria-label="Diễn tập"></video>',
            (f"{SITE}/v.mp4", "Diễn tập"),
        ),
        (
            '<video controls><source data-src="/v.webm"><source src="/v.mp4"></video>',
            (f"{SITE}/v.webm", "Xem video"),
        ),
        (
            '<iframe src="/widgets/poll.html" title="Bình chọn"></iframe>',
            (f"{SITE}/widgets/poll.html", "Bình chọn"),
        ),
        (
            '<iframe src="https://www.google.com/maps/embed?pb=1"></iframe>',
            ("https://www.google.com/maps/embed?pb=1", "https://www.google.com/maps/embed?pb=1"),
        ),
        (
            '<div class="fb-post" data-href="https://www.facebook.com/baobienphong/posts/1"></div>',
            ("https://www.facebook.com/baobienphong/posts/1", "Xem trên Facebook"),
        ),
    ],
)
def test_an_embed_becomes_a_link(embed: str, link: tuple[str, str]) -> None:
    assert links(f"<p>Trước.</p>{embed}<p>Sau.</p>") == [link]


@pytest.mark.parametrize(
    "embed",
    [
        '<iframe src="javascript:alert(1)"></iframe>',
        '<iframe src="data:text/html,x"></iframe>',
        "<iframe></iframe>",
        '<object data="/flash/player.swf"></object>',
        '<embed src="/flash/player.swf">',
        '<video src="javascript:alert(1)">Không có video</video>',
        '<blockquote class="tiktok-embed">no cite</blockquote>',
    ],
)
def test_an_embed_without_a_web_address_gives_no_link(embed: str) -> None:
    assert links(f"<p>Trước.</p>{embed}<p>Sau.</p>") == []


def test_text_after_a_void_element_libxml2_does_not_know_stays_outside_it() -> None:
    body = (
        '<p>a<wbr>b</p><embed src="/x.swf"><p>c</p>'
        '<picture><source srcset="/a.webp"><img data-src="/a.jpg"></picture><p>d</p>'
    )
    html = sanitize_html(body, BASE)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert [p.text_content() for p in root.iter("p")] == ["ab", "c", "d"]
    assert [img.get("src") for img in root.iter("img")] == [f"{SITE}/a.jpg"]


def test_a_body_nested_deeper_than_libxml2_reads_is_left_whole() -> None:
    body = "<div>" * 3000 + 'sâu<img data-src="/a.jpg">' + "</div>" * 3000 + "<p>sau</p>"
    assert prepare_body(body, BASE) is body  # nothing cut short
    assert "sau" in sanitize_html(body, BASE)


def test_garbage_bodies_never_raise_and_come_out_safe() -> None:
    pieces = [
        "<iframe src='https://youtu.be/x'>",
        "</iframe>",
        "<img data-src='/a.jpg' src='data:x'>",
        "<video><source src='/v.mp4'>",
        "</video>",
        "<picture>",
        "<source srcset='javascript:x 1x'>",
        "<p>",
        "<div class='fb-video' data-href='javascript:x'>",
        "<blockquote class='tiktok-embed' cite='//tiktok.com/@a/video/1'>",
        "<script>alert(1)</script>",
        "<table><tr><td>",
        "chữ",
        "<!--",
        "<?xml encoding='utf-8'?>",
        "\u0000",
        "&",
        "<",
    ]
    rng = random.Random(14)
    for _ in range(400):
        body = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        root = lxml.html.fragment_fromstring(sanitize_html(body, BASE) or "<p></p>", "div")
        for element in root.iter():
            assert element.tag not in ("script", "iframe", "video", "source", "picture"), body
            for name, value in element.attrib.items():
                assert not name.startswith("on") and "javascript:" not in value, body
