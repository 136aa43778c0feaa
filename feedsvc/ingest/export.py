"""``feedsvc export``: every category, then every article, as JSON Lines in the record formats
``import-categories`` and ``import-articles`` read, so that importing them into an empty
database publishes the same feeds, byte for byte.

One read transaction, articles streamed a chunk at a time (never the whole table in memory).
Deleted articles are left out (no feed shows them; deleted categories are gone from the database).
An article corrected after it was published carries, as its ``updated_at``, the updated time its
items show (:func:`feedsvc.store.articles.item_updated`): a new database has no record of the
correction, and the item must keep that time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any, Literal

from feedsvc import store
from feedsvc.ingest.records import ArticleRecord
from feedsvc.ingest.store_records import category_of, record_of
from feedsvc.store.articles import item_updated
from feedsvc.store.db import Database
from feedsvc.store.models import Article

Kind = Literal["categories", "articles"]
KINDS: tuple[Kind, ...] = ("categories", "articles")


@dataclasses.dataclass
class ExportCounts:
    """How many records of each kind were written."""

    categories: int = 0
    articles: int = 0


def exported_article(row: Article) -> dict[str, Any]:
    """The record of a stored article that an import reads back into the same feed items."""
    record: ArticleRecord = record_of(row)
    shown = item_updated(row.published_at, row.updated_at, row.revised_at)
    if shown != (row.updated_at or row.published_at):  # a correction moved the updated time
        record = dataclasses.replace(record, updated_at=shown)
    return record.to_json()


def export_lines(
    db: Database, kinds: tuple[Kind, ...] = KINDS, counts: ExportCounts | None = None
) -> Iterator[str]:
    """The export, one JSON line (with its newline) at a time: categories by slug, then
    articles by publication time and id."""
    counts = counts if counts is not None else ExportCounts()
    with db.reading() as session:
        if "categories" in kinds:
            for row in store.list_categories(session):
                counts.categories += 1
                yield _line(category_of(row).to_json())
        if "articles" in kinds:
            for article in store.every_article(session):
                counts.articles += 1
                yield _line(exported_article(article))


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
