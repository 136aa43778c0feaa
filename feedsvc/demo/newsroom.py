"""The demo newsroom: deterministic Vietnamese categories and articles for ``flask demo-data``.

Pure functions: no database, no Flask, no clock. One seeded ``random.Random`` drives every choice,
banks are tuples (never sets), so the same ``anchor`` gives identical records in every process,
whatever ``PYTHONHASHSEED``. Records follow docs/interface.md (Records); photos are files shipped in
``feedsvc/static/demo`` and their ``length`` is read from disk so it is always true.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedsvc.demo import text as bank

NEWSROOM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the paper publishes in GMT+7
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
DEMO_PHOTO_DIR = STATIC_DIR / "demo"
# config/ at the repository's root is the one source of the demo categories and seed article; an
# installed wheel carries a copy in feedsvc/demo/data/ (made by setup.py at build time).
PACKAGED_CONFIG_DIR = Path(__file__).resolve().parent / "data"
CHECKOUT_CONFIG_DIR = Path(__file__).resolve().parent.parent.parent / "config"
CONFIG_DIR = PACKAGED_CONFIG_DIR if PACKAGED_CONFIG_DIR.is_dir() else CHECKOUT_CONFIG_DIR
CATEGORIES_FILE = CONFIG_DIR / "categories.jsonl"
SEED_ARTICLE_FILE = CONFIG_DIR / "seed_article.jsonl"

ARTICLE_COUNT = 320  # generated articles; the real seed article comes on top
WINDOW_DAYS = 34  # articles fall on the 34 days before the anchor (under 5 weeks)
_RNG_SEED = 20230203  # a constant: changing it changes every demo record
_SEED_PHOTO = "hoi-nghi.jpg"  # the seed's own photo is not shipped; a meeting-room placeholder is
_MIME_TYPES = (("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("png", "image/png"))
_POST_BASE = 561_200  # CMS post numbers; ids end in the number's last four digits
_FIELD_ORDER: tuple[str, ...] = ("id", "url", "title", "summary", "content_html", "author")
_FIELD_ORDER += ("categories", "image", "published_at", "updated_at")  # docs/interface.md's order


def demo_categories() -> list[dict[str, Any]]:
    """The default category records, read from ``config/categories.jsonl`` (or the wheel's copy)."""
    return _read_jsonl(CATEGORIES_FILE)


def demo_articles(base_url: str, anchor: datetime) -> list[dict[str, Any]]:
    """About 320 demo article records dated over the weeks before ``anchor``, oldest first."""
    base = _check_base_url(base_url)
    if anchor.tzinfo is None or anchor.utcoffset() is None:
        raise ValueError("anchor must be an aware datetime, e.g. datetime.now(timezone.utc)")
    local_anchor = anchor.astimezone(NEWSROOM_TZ)
    rng = Random(_RNG_SEED)
    drafts: list[tuple[datetime, int, dict[str, Any]]] = []
    timing = (0, 9, 0)
    for index in range(ARTICLE_COUNT):
        # ~6% reuse the previous slot: feeds must order equal published times deterministically.
        if index == 0 or rng.random() >= 0.06:
            timing = (rng.randint(0, WINDOW_DAYS - 1), _choose_hour(rng), rng.randrange(60))
        published = _publish_time(local_anchor, *timing)
        drafts.append((published, index, _draft(rng, index, base, published, local_anchor)))
    drafts.sort(key=lambda draft: (draft[0], draft[1]))
    articles = [
        _finish(record, position, index) for position, (_, index, record) in enumerate(drafts)
    ]
    seed = seed_article(base)
    if datetime.fromisoformat(seed["published_at"]) <= anchor:
        articles.insert(0, seed)
    return articles


def seed_article(base_url: str) -> dict[str, Any]:
    """The real seed article, its lead photo pointed at a shipped placeholder (caption kept)."""
    (record,) = _read_jsonl(SEED_ARTICLE_FILE)
    caption = record["image"]["caption"]
    record["image"] = _photo(_check_base_url(base_url), _SEED_PHOTO, caption)
    return record


def ascii_slug(text: str) -> str:
    """An ASCII URL slug of Vietnamese text: diacritics stripped, đ→d, runs of others → ``-``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def photo_path(url: str) -> Path:
    """The shipped file behind a demo photo URL (``…/static/demo/<file>``)."""
    return DEMO_PHOTO_DIR / url.rsplit("/", 1)[-1]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every non-blank line of a JSON Lines file, as dicts."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, absolute http(s) (docs/interface.md, image)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


def _choose_hour(rng: Random) -> int:
    """A newsroom hour: early-morning and mid-afternoon peaks, little at night."""
    return rng.choices(bank.HOURS, weights=bank.HOUR_WEIGHTS)[0]


def _publish_time(anchor: datetime, days_back: int, hour: int, minute: int) -> datetime:
    """The slot's time on ``days_back`` days before the anchor's date, moved back a day if later."""
    day = anchor.date() - timedelta(days=days_back)
    published = datetime.combine(day, time(hour, minute), tzinfo=NEWSROOM_TZ)
    return published if published <= anchor else published - timedelta(days=1)


def _draft(
    rng: Random, index: int, base: str, published: datetime, anchor: datetime
) -> dict[str, Any]:
    """One article's content (everything but id and url), drawn in a fixed order from ``rng``."""
    desk = rng.choices(bank.DESKS, weights=[desk.weight for desk in bank.DESKS])[0]
    story = rng.choice(desk.stories)
    desk, story = bank.SPECIALS.get(index, (desk, story))
    ctx = _context(rng, desk, published)
    author, credit = _byline(rng, desk)
    lead, inline = _photos(rng, desk)
    paragraphs = [story.paragraph, *_stock_paragraphs(rng, desk, rng.randint(3, 6) - 1)]
    evening = rng.random() < 0.4
    edit_minutes = rng.randint(5, 360) if rng.random() < 0.12 else 0
    record: dict[str, Any] = {
        "title": story.title.format_map(ctx),
        "summary": f"Biên phòng - {_dateline(published, evening)}, {story.sapo.format_map(ctx)}.",
        "content_html": _body(base, paragraphs, ctx, inline, credit, rng),
        "categories": _categories(rng, desk),
        "image": _photo(base, lead[0], f"{lead[1].format_map(ctx)}. Ảnh: {credit}"),
        "published_at": published.isoformat(),
    }
    if author is not None:
        record["author"] = author
    updated = min(published + timedelta(minutes=edit_minutes), anchor)
    if edit_minutes and updated > published:
        record["updated_at"] = updated.isoformat()
    return record


def _finish(record: dict[str, Any], position: int, index: int) -> dict[str, Any]:
    """Give a draft its CMS id and article URL; post numbers grow with publication time.

    The id does not depend on the anchor, so loading the demo again on a later day replaces the
    same articles instead of adding a second set.
    """
    post = _POST_BASE + 3 * position + index % 3  # distinct: 3·position + (0..2)
    url = f"https://bienphong.example/{ascii_slug(record['title'])}-post{post}.html"
    fields = {"id": f"bp-demo-{post}", "url": url, **record}
    return {name: fields[name] for name in _FIELD_ORDER if name in fields}


def _stock_paragraphs(rng: Random, desk: bank.Desk, count: int) -> list[str]:
    """``count`` of the desk's stock paragraphs, kept in bank order so closings come last."""
    return [desk.paragraphs[i] for i in sorted(rng.sample(range(len(desk.paragraphs)), count))]


def _context(rng: Random, desk: bank.Desk, published: datetime) -> dict[str, str]:
    """The values a story's slots name: place, people, figures, dates."""
    land = rng.choice(bank.LAND_PROVINCES)
    sea = rng.choice(bank.SEA_PROVINCES)
    province, post = (
        (sea.name, rng.choice(sea.posts)) if desk.sea else (land.name, rng.choice(land.posts))
    )
    rank, position = rng.choice(bank.LEADERS)
    ctx = {"tinh": province, "post": post, "nuoc": land.neighbour, "cua_khau": land.gate}
    country, capital = rng.choice(bank.COUNTRIES)
    ctx |= {"nuoc_ngoai": country, "thu_do": capital, "vung_dong_dat": rng.choice(bank.QUAKES)}
    leader = f"{rank} {_person(rng)}"
    ctx |= {"lanh_dao_ngan": leader, "lanh_dao": f"{leader}, {position.format_map(ctx)}"}
    ctx["quan_chuc"] = f"{_person(rng, civilian=True)}, {rng.choice(bank.OFFICIALS)} {province}"
    ctx |= {"ngu_dan": _person(rng), "hang": rng.choice(bank.CONTRABAND)}
    ctx |= {name: _vn_number(rng.randint(low, high)) for name, low, high in bank.FIGURES}
    ctx["so_nam"] = str(rng.randrange(20, 70, 5))
    ctx |= {"nam": str(published.year), "thang": str((published - timedelta(days=12)).month)}
    ctx["giai_doan"] = f"{published.year - 5} - {published.year}"
    return ctx


def _person(rng: Random, civilian: bool = False) -> str:
    """A full Vietnamese name; civilians get ``ông``/``bà`` as the paper writes them."""
    surname, given = rng.choice(bank.SURNAMES), rng.choice(bank.GIVEN_NAMES)
    if civilian and rng.random() < 0.3:
        return f"bà {surname} Thị {rng.choice(bank.FEMALE_NAMES)}"
    name = f"{surname} {rng.choice(bank.MIDDLE_NAMES)} {given}"
    return f"ông {name}" if civilian else name


def _vn_number(value: int) -> str:
    """An integer the Vietnamese way: ``1.250`` (dot groups thousands)."""
    return f"{value:,}".replace(",", ".")


def _byline(rng: Random, desk: bank.Desk) -> tuple[str | None, str]:
    """The author (sometimes a team, a pair or none) and the photo credit."""
    reporter, other = rng.sample(bank.REPORTERS, 2)
    roll = rng.random()
    if desk.slug == "the-gioi":
        credit = rng.choice(bank.WIRE_CREDITS)
        return (f"{reporter} (tổng hợp)" if roll < 0.6 else None), credit
    if roll < 0.07:
        return None, "Tư liệu"
    if roll < 0.13:
        return "Nhóm phóng viên", reporter
    if roll < 0.2:
        return f"{reporter} - {other}", reporter
    return reporter, reporter if roll < 0.85 else "Đơn vị cung cấp"


def _photos(rng: Random, desk: bank.Desk) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """The lead photo (file, caption template) and, for about a third, another one in the body."""
    files = rng.sample(desk.photos, len(desk.photos))
    lead, *others = ((name, rng.choice(bank.PHOTO_CAPTIONS[name])) for name in files)
    return lead, (others[0] if others and rng.random() < 0.33 else None)


def _photo(base: str, name: str, caption: str) -> dict[str, Any]:
    """An image record for a shipped file: URL, caption, MIME type and its true size in bytes."""
    path = DEMO_PHOTO_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"demo photo {path} is missing; restore feedsvc/static/demo/")
    mime = dict(_MIME_TYPES)[name.rsplit(".", 1)[-1].lower()]
    url = f"{base}/static/demo/{name}"
    return {"url": url, "caption": caption, "mime_type": mime, "length": path.stat().st_size}


def _dateline(published: datetime, evening: bool) -> str:
    """``Chiều 3/2``-style time of the event: early posts report the previous afternoon."""
    if published.hour < 10:
        day, part = published.date() - timedelta(days=1), "Tối" if evening else "Chiều"
    else:
        day, part = published.date(), "Sáng" if published.hour < 15 else "Chiều"
    return f"{part} {_day_month(day)}"


def _day_month(day: date) -> str:
    """``3/2`` for 3 February, without leading zeros, as the paper writes dates."""
    return f"{day.day}/{day.month}"


def _body(
    base: str,
    paragraphs: list[str],
    ctx: dict[str, str],
    inline: tuple[str, str] | None,
    credit: str,
    rng: Random,
) -> str:
    """The body HTML: escaped ``<p>`` paragraphs, maybe a ``<figure>`` after the second."""
    parts = [f"<p>{html.escape(text.format_map(ctx), quote=False)}</p>" for text in paragraphs]
    if inline is not None:
        caption = inline[1].format_map(ctx)
        src = html.escape(f"{base}/static/demo/{inline[0]}")
        figure = (
            f'<figure><img src="{src}" alt="{html.escape(caption)}" width="640" height="360">'
            f"<figcaption>{html.escape(caption, quote=False)}. Ảnh: {html.escape(credit)}"
            "</figcaption></figure>"
        )
        parts.insert(rng.randint(1, 2), figure)
    return "".join(parts)


def _categories(rng: Random, desk: bank.Desk) -> list[str]:
    """The desk's slug first (the primary category), then up to two related ones."""
    extra = rng.choices((0, 1, 2), weights=(5, 4, 2))[0]
    return [desk.slug, *desk.related[: min(extra, len(desk.related))]]
