"""The query of ``GET /api/v1/articles``: its filters, its page size and its opaque cursor.

The one call of the ingest API that takes query parameters. Every parameter is checked: an
unknown or repeated name, an empty value or a value out of its rule gets ``400`` with a detail
per parameter (a token in the query never gets this far: the guard refuses it first).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from feedsvc.ingest import store_records as ingest
from feedsvc.ingest.records import FieldError, RecordError
from feedsvc.ingest.strictjson import JSONError, loads_strict
from feedsvc.store import ALL

PARAMETERS = ("category", "changed_since", "cursor", "limit")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_LIMIT = re.compile(r"[1-9][0-9]{0,3}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,400}")
# "+07:00" sent unencoded in a query reads as " 07:00": say so rather than only "not a date".
_PLUS_READ_AS_SPACE = re.compile(r".* [0-9]{2}(:?[0-9]{2})?")


class QueryError(ValueError):
    """The query breaks one or more rules; ``details`` names each parameter at fault."""

    def __init__(self, details: list[FieldError]) -> None:
        count = len(details)
        super().__init__(f"the query breaks {count} rule{'s' if count != 1 else ''}; see details")
        self.details = details


@dataclass(frozen=True)
class ListQuery:
    """What a client asked for: None where it asked for nothing."""

    category: str | None  # a category's slug; None (also for "all"): every category
    changed_since: datetime | None
    after: tuple[datetime, str] | None  # from the cursor: the last article of the last page
    limit: int


def parse_query(args: MultiDict[str, str], tz: ZoneInfo) -> ListQuery:
    """The list query in ``args``; QueryError listing every parameter at fault."""
    errors: list[FieldError] = []
    for name in sorted(set(args)):
        if name not in PARAMETERS:
            shown = repr(name) if len(name) <= 40 else "with this name"
            errors.append(FieldError(name, f"no parameter {shown}: use {', '.join(PARAMETERS)}"))
        elif len(args.getlist(name)) > 1:
            errors.append(FieldError(name, "is given more than once; give it once"))
        elif not args[name]:
            errors.append(FieldError(name, "is empty; give a value or leave the parameter out"))
    if errors:
        raise QueryError(errors)
    category = _category(args.get("category"), errors)
    changed_since = _changed_since(args.get("changed_since"), tz, errors)
    after = _after(args.get("cursor"), errors)
    limit = _limit(args.get("limit"), errors)
    if errors:
        raise QueryError(errors)
    return ListQuery(category, changed_since, after, limit)


def _category(value: str | None, errors: list[FieldError]) -> str | None:
    if value is None or value == ALL:
        return None
    if not ingest.is_category_slug(value):
        errors.append(
            FieldError("category", "must be a category's slug, like 'thoi-su' (or 'all')")
        )
        return None
    return value


def _changed_since(value: str | None, tz: ZoneInfo, errors: list[FieldError]) -> datetime | None:
    if value is None:
        return None
    try:
        return ingest.parse_time(value, "changed_since", tz)
    except RecordError as exc:
        for error in exc.errors:
            message = error.message
            if _PLUS_READ_AS_SPACE.fullmatch(value):
                message += (
                    "; a '+' in a URL's query means a space: write the offset as %2B07:00, or "
                    "give the time in UTC with Z"
                )
            errors.append(FieldError(error.field, message))
        return None


def _limit(value: str | None, errors: list[FieldError]) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(value) or int(value) > MAX_LIMIT:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return int(value)


def encode_cursor(after: tuple[datetime, str]) -> str:
    """The opaque cursor of a position: where the next page starts."""
    moment, article_id = after
    text = json.dumps([moment.astimezone(UTC).isoformat(), article_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _after(value: str | None, errors: list[FieldError]) -> tuple[datetime, str] | None:
    if value is None:
        return None
    after = decode_cursor(value)
    if after is None:
        errors.append(
            FieldError(
                "cursor",
                "is not a cursor this service gave out: pass next_cursor from the previous "
                "page as it is (or follow next), or start again without a cursor",
            )
        )
    return after


def decode_cursor(value: str) -> tuple[datetime, str] | None:
    """The position a cursor of :func:`encode_cursor` holds; None for anything else."""
    if not _CURSOR.fullmatch(value):
        return None
    try:
        decoded = loads_strict(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, JSONError, ValueError):
        return None
    if not (isinstance(decoded, list) and len(decoded) == 2):
        return None
    moment_text, article_id = decoded
    if not (isinstance(moment_text, str) and isinstance(article_id, str)):
        return None
    try:
        moment = datetime.fromisoformat(moment_text).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if not (moment_text.endswith("+00:00") and ingest.is_article_id(article_id)):
        return None
    return moment, article_id


def next_link(base: str, args: Mapping[str, str], cursor: str) -> str:
    """The URL of the next page: the same filters and limit, the new cursor."""
    kept = [(name, args[name]) for name in PARAMETERS if name != "cursor" and name in args]
    return f"{base}?{urlencode([*kept, ('cursor', cursor)])}"
