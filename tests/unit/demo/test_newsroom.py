"""Tests for feedsvc.demo.newsroom: the deterministic demo newsroom (categories, articles,
photos)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from feedsvc.demo import newsroom as demo
from feedsvc.ingest.records import parse_article, parse_category

from tests.helpers.paths import REPO, SHARED

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SHARED_SAMPLE = SHARED / "samples" / "articles.jsonl"
BASE = "http://127.0.0.1:8000"
ANCHOR = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
SEED_ID = "bp-20230203-cnqp"
SEED_CAPTION = "Đại tướng Phan Văn Giang phát biểu chỉ đạo tại buổi làm việc. Ảnh: Hồng Pha"
REQUIRED_CATEGORIES = {
    "thoi-su": "Thời sự",
    "quoc-phong-an-ninh": "Quốc phòng - An ninh",
    "bien-gioi-lanh-tho": "Biên giới lãnh thổ",
    "kinh-te": "Kinh tế",
    "xa-hoi": "Xã hội",
    "the-gioi": "Thế giới",
}
ID_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")  # INTERFACE.md, Records: id
DEMO_URL = re.compile(r"https://bienphong\.example/[a-z0-9]+(-[a-z0-9]+)*-post[0-9]+\.html")
DEMO_ID = re.compile(r"bp-demo-(?P<post>[0-9]+)")
# Anchors: the usual one, one in another zone with odd minutes, one just after local midnight
# (every same-day slot must move back a day), and one at the end of a local day.
ANCHORS = (
    ANCHOR,
    datetime(2026, 3, 1, 14, 37, 12, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 6, 30, 0, 20, tzinfo=TZ),
    datetime(2027, 1, 1, 23, 59, 59, tzinfo=TZ),
)
# What a different process prints: a digest of the records, to compare across hash seeds.
DIGEST_SCRIPT = (
    "import hashlib, json, sys; from datetime import datetime; "
    "from feedsvc.demo import newsroom as demo; "
    "records = [demo.demo_categories(), "
    "demo.demo_articles(sys.argv[1], datetime.fromisoformat(sys.argv[2]))]; "
    "print(hashlib.sha256(json.dumps(records, ensure_ascii=False).encode()).hexdigest())"
)


@pytest.fixture(scope="module")
def articles() -> list[dict[str, Any]]:
    """The demo articles for ANCHOR."""
    return demo.demo_articles(BASE, ANCHOR)


@pytest.fixture(scope="module")
def generated(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The generated articles: all but the real seed article."""
    return [record for record in articles if record["id"] != SEED_ID]


def strings(value: object) -> Iterator[str]:
    """Every string inside a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def digest(records: object) -> str:
    """The SHA-256 of records serialised as the digest script does."""
    return hashlib.sha256(json.dumps(records, ensure_ascii=False).encode()).hexdigest()


def local(text: str) -> datetime:
    """An ISO 8601 timestamp from a record, as an aware datetime in Hà Nội time."""
    return datetime.fromisoformat(text).astimezone(TZ)


# --- categories -----------------------------------------------------------------------------


def test_categories_have_the_required_slugs_and_names() -> None:
    categories = demo.demo_categories()
    names = {record["slug"]: record["name"] for record in categories}
    assert len(categories) >= 6
    assert len(names) == len(categories), "slugs must be unique"
    for slug, name in REQUIRED_CATEGORIES.items():
        assert names.get(slug) == name


def test_every_category_parses_and_has_a_description() -> None:
    for raw in demo.demo_categories():
        parsed = parse_category(raw)
        assert parsed.slug == raw["slug"]
        assert raw["description"].strip()


# --- determinism ----------------------------------------------------------------------------


def test_two_calls_give_equal_records(articles: list[dict[str, Any]]) -> None:
    assert demo.demo_articles(BASE, ANCHOR) == articles
    assert demo.demo_categories() == demo.demo_categories()


@pytest.mark.parametrize("hash_seed", ["0", "4242"])
def test_records_do_not_depend_on_the_hash_seed(
    articles: list[dict[str, Any]], hash_seed: str
) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, BASE, ANCHOR.isoformat()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == digest([demo.demo_categories(), articles])


# --- article records ------------------------------------------------------------------------


def test_at_least_300_articles_with_unique_ids_and_urls(articles: list[dict[str, Any]]) -> None:
    assert len(articles) >= 300
    assert len({record["id"] for record in articles}) == len(articles)
    assert len({record["url"] for record in articles}) == len(articles)


def test_every_record_parses_under_the_interface_rules(articles: list[dict[str, Any]]) -> None:
    for raw in articles:
        parsed = parse_article(raw, TZ)
        assert parsed.id == raw["id"]
        assert parsed.title == raw["title"]
        assert list(parsed.categories) == raw["categories"]
        assert parsed.image is not None and parsed.image.length == raw["image"]["length"]


def test_ids_and_urls_have_the_cms_shape(generated: list[dict[str, Any]]) -> None:
    for record in generated:
        assert ID_RULE.fullmatch(record["id"])
        match = DEMO_ID.fullmatch(record["id"])
        assert match, record["id"]
        assert DEMO_URL.fullmatch(record["url"]), record["url"]
        assert record["url"].endswith(f"-post{match['post']}.html")
        assert demo.ascii_slug(record["title"]) in record["url"]


def test_categories_are_known_distinct_and_all_used(articles: list[dict[str, Any]]) -> None:
    known = {record["slug"] for record in demo.demo_categories()}
    used: Counter[str] = Counter()
    for record in articles:
        assert 1 <= len(record["categories"]) <= 3
        assert len(set(record["categories"])) == len(record["categories"])
        assert set(record["categories"]) <= known
        used.update(record["categories"][:1])
    assert set(used) == known, "every category is some article's primary category"


@pytest.mark.parametrize("anchor", ANCHORS, ids=lambda anchor: anchor.isoformat())
def test_times_fall_in_newsroom_hours_in_the_five_weeks_before_the_anchor(
    anchor: datetime,
) -> None:
    for record in demo.demo_articles(BASE, anchor):
        published = datetime.fromisoformat(record["published_at"])
        assert published.utcoffset() == timedelta(hours=7)
        assert published <= anchor
        if "updated_at" in record:
            assert published < datetime.fromisoformat(record["updated_at"]) <= anchor
        if record["id"] != SEED_ID:
            assert anchor - published < timedelta(days=35)
            assert 5 <= local(record["published_at"]).hour <= 22


def test_some_articles_share_a_time_and_some_were_updated(
    generated: list[dict[str, Any]],
) -> None:
    times = Counter(record["published_at"] for record in generated)
    # Chance alone gives about 3 shared slots; the generator reuses a slot for ~6% of articles.
    assert sum(1 for count in times.values() if count > 1) >= 12
    assert sum(1 for record in generated if "updated_at" in record) >= 10


def test_articles_come_oldest_first(articles: list[dict[str, Any]]) -> None:
    moments = [datetime.fromisoformat(record["published_at"]) for record in articles]
    assert moments == sorted(moments)


def test_seed_is_left_out_when_the_anchor_precedes_it() -> None:
    anchor = datetime(2023, 1, 15, 9, 0, tzinfo=TZ)
    records = demo.demo_articles(BASE, anchor)
    assert SEED_ID not in {record["id"] for record in records}
    assert all(datetime.fromisoformat(record["published_at"]) <= anchor for record in records)


# --- text -----------------------------------------------------------------------------------


def test_all_text_is_nfc(articles: list[dict[str, Any]]) -> None:
    for text in strings([demo.demo_categories(), articles]):
        assert unicodedata.is_normalized("NFC", text), text


def test_sapo_bylines_and_captions_follow_the_paper(generated: list[dict[str, Any]]) -> None:
    authors = Counter(record.get("author") for record in generated)
    assert authors[None] > 0 and authors["Nhóm phóng viên"] > 0
    for record in generated:
        assert record["summary"].startswith("Biên phòng - ")
        assert re.search(r"\. Ảnh: \S.*\Z", record["image"]["caption"])


def test_bodies_have_three_to_six_paragraphs_and_shipped_figures(
    generated: list[dict[str, Any]],
) -> None:
    figures = 0
    for record in generated:
        fragments = lxml.html.fragments_fromstring(record["content_html"])
        assert all(isinstance(node, lxml.html.HtmlElement) for node in fragments)
        assert {node.tag for node in fragments} <= {"p", "figure"}
        assert 3 <= sum(1 for node in fragments if node.tag == "p") <= 6
        for figure in (node for node in fragments if node.tag == "figure"):
            figures += 1
            (img,) = figure.iter("img")
            assert demo.photo_path(img.get("src")).is_file()
            assert "Ảnh: " in figure.findtext("figcaption")
    assert figures >= 20


def test_titles_and_bodies_exercise_escaping(generated: list[dict[str, Any]]) -> None:
    tricky = [record for record in generated if "&" in record["title"]]
    assert len(tricky) >= 2
    assert any("<" in record["title"] for record in tricky)
    assert any('"' in record["title"] for record in generated)
    for record in tricky:
        assert "&amp;" in record["content_html"]
        text = "".join(
            node.text_content() for node in lxml.html.fragments_fromstring(record["content_html"])
        )
        assert "&" in text


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        (
            "Phát triển Công nghiệp Quốc phòng tự lực, lưỡng dụng, hiện đại",
            "phat-trien-cong-nghiep-quoc-phong-tu-luc-luong-dung-hien-dai",
        ),
        ("Đồn Biên phòng Lũng Cú tuần tra", "don-bien-phong-lung-cu-tuan-tra"),
        ("Xuất nhập khẩu & logistics: <30 phút", "xuat-nhap-khau-logistics-30-phut"),
        ('"Nâng bước em tới trường" ở Quảng Ninh', "nang-buoc-em-toi-truong-o-quang-ninh"),
        (unicodedata.normalize("NFD", "Kiên Giang"), "kien-giang"),
    ],
)
def test_ascii_slug(title: str, slug: str) -> None:
    assert demo.ascii_slug(title) == slug


# --- photos ---------------------------------------------------------------------------------


def test_image_urls_point_at_shipped_files_with_true_lengths(
    articles: list[dict[str, Any]],
) -> None:
    for record in articles:
        image = record["image"]
        assert image["url"].startswith(f"{BASE}/static/demo/")
        path = demo.photo_path(image["url"])
        assert path.is_file(), image["url"]
        assert image["length"] == path.stat().st_size
        assert image["mime_type"] == "image/jpeg"
        assert path.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG SOI marker


def test_shipped_photos_are_small() -> None:
    photos = sorted(demo.DEMO_PHOTO_DIR.glob("*.jpg"))
    assert len(photos) >= 12
    assert all(path.stat().st_size <= 25_000 for path in photos)
    assert sum(path.stat().st_size for path in photos) < 400_000


@pytest.mark.parametrize(("name", "size"), [("icon-512.png", 512), ("icon-64.png", 64)])
def test_site_icons_are_square_pngs(name: str, size: int) -> None:
    data = (demo.STATIC_DIR / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (size, size)  # IHDR width, height


def test_trailing_slash_in_base_url_is_dropped() -> None:
    record = demo.demo_articles(f"{BASE}/", ANCHOR)[-1]
    assert record["image"]["url"].startswith(f"{BASE}/static/demo/")


@pytest.mark.parametrize(
    ("base_url", "anchor"),
    [
        (BASE, datetime(2026, 11, 26, 10, 0)),  # naive
        ("127.0.0.1:8000", ANCHOR),
        ("ftp://example.org", ANCHOR),
    ],
)
def test_bad_arguments_are_refused(base_url: str, anchor: datetime) -> None:
    with pytest.raises(ValueError):
        demo.demo_articles(base_url, anchor)


# --- the real seed article ------------------------------------------------------------------


def test_seed_article_is_present_with_its_caption(articles: list[dict[str, Any]]) -> None:
    (seed,) = [record for record in articles if record["id"] == SEED_ID]
    (line,) = demo.SEED_ARTICLE_FILE.read_text(encoding="utf-8").splitlines()
    original = json.loads(line)
    assert seed["image"]["caption"] == SEED_CAPTION
    assert seed["image"]["url"] == f"{BASE}/static/demo/hoi-nghi.jpg"
    assert {key: value for key, value in seed.items() if key != "image"} == {
        key: value for key, value in original.items() if key != "image"
    }


@pytest.mark.skipif(not SHARED_SAMPLE.is_file(), reason="../shared/samples is not checked out")
def test_seed_file_is_a_verbatim_copy_of_the_shared_sample() -> None:
    assert demo.SEED_ARTICLE_FILE.read_bytes() == SHARED_SAMPLE.read_bytes()


def test_ids_do_not_depend_on_the_anchor() -> None:
    """Loading the demo on a later day replaces the same articles, it adds none."""
    first = demo.demo_articles(BASE, datetime(2026, 11, 20, 3, tzinfo=UTC))
    later = demo.demo_articles(BASE, datetime(2026, 12, 24, 3, tzinfo=UTC))
    assert [r["id"] for r in first] == [r["id"] for r in later]
