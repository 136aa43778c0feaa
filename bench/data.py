"""A synthetic newsroom for the benchmarks: 100 categories, N articles of realistic size.

Deterministic (one seeded ``random.Random``), no clock of its own: the newest article is one
minute before ``anchor`` and one article appears every ``STEP`` seconds before that, so a larger
archive is an older one, like a newsroom's. Text is Vietnamese syllables drawn with the frequencies
of the demo newsroom's own text, so a 50-item RSS feed is about 256 kB and 77 kB gzipped (the sizes
issue 7 quotes). Articles are written to JSON Lines (for ``import-articles``) and loaded into a
database through :func:`feedsvc.ingest.store_records.store_articles`, the code path of the
importer and the API.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from feedsvc.demo import newsroom as demo

SEED = 7
STEP = 120  # seconds between two articles: about 720 a day
SITE = "https://bienphong.example"
PHOTO_BASE = "https://img.bienphong.example/2026"
SENTENCES = 20_000  # a pool large enough that no feed repeats a sentence within gzip's window
BATCH = 1000

_AUTHORS = ("Nguyễn Hòa", "Trần Minh Đức", "Lê Thu Trang", "Phạm Quang Vinh", "Hoàng Lan Anh")
_DESKS = (
    "Thời sự", "Quốc phòng", "Biên giới", "Biển đảo", "Kinh tế", "Xã hội", "Pháp luật",
    "Văn hóa", "Thể thao", "Quốc tế",
)  # fmt: skip
_AREAS = (
    "Hà Nội", "Lạng Sơn", "Cao Bằng", "Hà Giang", "Lào Cai", "Điện Biên", "Quảng Trị",
    "Kiên Giang", "Cà Mau", "Khánh Hòa",
)  # fmt: skip


class Newsroom:
    """Generates category and article records; the same seed gives the same records."""

    def __init__(self, categories: int = 100, seed: int = SEED) -> None:
        self.rng = Random(seed)
        words, weights = _vocabulary()
        self._words = words
        self._cum = _cumulative(weights)
        self.categories = [_category(i) for i in range(categories)]
        self._slugs = [c["slug"] for c in self.categories]
        # Desks of unequal size (weights 1/sqrt(rank)): the smallest of 100 still gets about half
        # a percent of the articles, so at 10k articles every category feed is full.
        self._desk_cum = _cumulative([1 / (rank + 1) ** 0.5 for rank in range(categories)])
        self._sentences = [self._sentence() for _ in range(SENTENCES)]

    def _sentence(self) -> str:
        count = self.rng.randint(12, 28)
        text = " ".join(self.rng.choices(self._words, cum_weights=self._cum, k=count))
        return text[0].upper() + text[1:] + "."

    def _paragraph(self) -> str:
        return " ".join(self.rng.choices(self._sentences, k=self.rng.randint(2, 4)))

    def article(self, number: int, anchor: datetime, *, newest: int = 0) -> dict[str, Any]:
        """Article ``number`` (0 = the oldest) of an archive whose newest is ``newest``."""
        rng = self.rng
        published = anchor - timedelta(seconds=60 + STEP * (newest - number))
        primary = self._slugs[rng.choices(range(len(self._slugs)), cum_weights=self._desk_cum)[0]]
        cats = [primary]
        if rng.random() < 0.3:
            second = rng.choice(self._slugs)
            if second != primary:
                cats.append(second)
        title = self._sentence()[:-1]
        body = "".join(f"<p>{self._paragraph()}</p>" for _ in range(rng.randint(5, 7)))
        record: dict[str, Any] = {
            "id": f"bench-{number:07d}",
            "url": f"{SITE}/{primary}/bai-viet-{number}.html",
            "title": title[:140],
            "summary": self._paragraph()[:400],
            "content_html": body,
            "author": rng.choice(_AUTHORS),
            "categories": cats,
            "image": {
                "url": f"{PHOTO_BASE}/{number % 9973}.jpg",
                "caption": self._sentence()[:120],
                "mime_type": "image/jpeg",
                "length": 40_000 + number % 90_000,
            },
            "published_at": published.astimezone(demo.NEWSROOM_TZ).isoformat(),
        }
        if rng.random() < 0.1:
            record["updated_at"] = (published + timedelta(minutes=7)).isoformat()
        return record

    def articles(self, count: int, anchor: datetime, start: int = 0) -> Iterator[dict[str, Any]]:
        """Articles ``start`` … ``count - 1``, oldest first, the newest a minute before anchor."""
        for number in range(start, count):
            yield self.article(number, anchor, newest=count - 1)


def _vocabulary() -> tuple[list[str], list[int]]:
    """Syllables of the demo newsroom's text with their frequencies."""
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    text = " ".join(
        f"{a['title']} {a.get('summary', '')} {re.sub('<[^>]+>', ' ', a['content_html'])}"
        for a in demo.demo_articles(SITE, anchor)
    )
    counts = collections.Counter(w.lower() for w in re.findall(r"\w+", text) if not w.isdigit())
    words = sorted(counts)
    return words, [counts[w] for w in words]


def _cumulative(weights: list[float] | list[int]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _category(index: int) -> dict[str, Any]:
    desk = _DESKS[index % len(_DESKS)]
    area = _AREAS[index // len(_DESKS) % len(_AREAS)]
    return {
        "slug": f"chuyen-muc-{index:02d}",
        "name": f"{desk} {area}",
        "description": f"Tin {desk.lower()} từ {area}",
    }


def write_jsonl(path: Path, records: Iterator[dict[str, Any]]) -> int:
    """Write records as JSON Lines; returns how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def load(app: Any, newsroom: Newsroom, count: int, anchor: datetime, start: int = 0) -> None:
    """Store the categories and articles ``start`` … ``count - 1`` through the ingest path."""
    from feedsvc import services_of
    from feedsvc.ingest.store_records import store_articles, store_category

    services = services_of(app)
    for category in newsroom.categories:
        store_category(services.db, services.clock, category)
    batch: list[dict[str, Any]] = []
    for record in newsroom.articles(count, anchor, start):
        batch.append(record)
        if len(batch) == BATCH:
            _store(store_articles(services.db, services.settings, services.clock, batch))
            batch = []
    if batch:
        _store(store_articles(services.db, services.settings, services.clock, batch))


def _store(result: Any) -> None:
    if result.rejected:
        first = result.rejected[0]
        raise RuntimeError(f"bench data: article {first.id} rejected: {first.reason}")
