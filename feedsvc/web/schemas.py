"""JSON Schemas (2020-12) of what the ingest API takes and gives: the records as sent (the API's
bodies and the CLI's JSON Lines), as accepted (what the API returns), and its other answers.

They go into the OpenAPI document's ``components/schemas`` (feedsvc/web/openapi.py), and the
tests validate against them what the API returns and what ``ingest/records.py`` accepts.

A schema states what a client should send; the service is a little more lenient than it on one
point: before checking a value it removes the characters XML 1.0 forbids and the C1 controls,
and trims the whitespace around times, URLs and media types. What JSON Schema cannot say is in
the descriptions: that a category named in an article exists, that HTML is sanitised, that a
title is not blank once its whitespace is collapsed, that a time lies between 1970 and 9999.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
# ingest/records.py's ISO 8601 / RFC 3339 form: seconds and offset optional, "T" or a space.
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
UTC_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$"
WEB_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$"
IMAGE_TYPE_PATTERN = r"^image/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$"
MAX_LENGTH = 2**63 - 1
MAX_BATCH = 1000  # articles in one POST /api/v1/articles
STATUSES = ["created", "replaced", "unchanged", "superseded"]


def ref(name: str) -> Schema:
    """A reference to ``components/schemas/NAME``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _optional(schema: Schema) -> Schema:
    """An optional field as sent: ``null`` counts as absent."""
    return {**schema, "type": [schema["type"], "null"]}


SLUG: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": SLUG_PATTERN,
    "not": {"const": "all"},
    "description": "lowercase ASCII letters and digits, words joined by single hyphens; "
    "`all` is reserved (the feed of every category)",
    "examples": ["quoc-phong"],
}
ARTICLE_ID: Schema = {
    "type": "string",
    "pattern": ID_PATTERN,
    "description": "the CMS's stable id: 1-200 characters of `A-Za-z0-9._:-`, starting with a "
    "letter or digit",
    "examples": ["bp-2026-1119-lungcu"],
}
SENT_TIME: Schema = {
    "type": "string",
    "pattern": DATE_TIME_PATTERN,
    "description": "an ISO 8601 / RFC 3339 date-time, seconds optional; without an offset it "
    "is read in FEEDSVC_TIMEZONE; between the years 1970 and 9999; a date alone is refused",
    "examples": ["2026-11-19T08:30:00+07:00"],
}
UTC_TIME: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": UTC_PATTERN,
    "description": "RFC 3339 in UTC with `Z`; a fraction of a second only when there is one",
}
WEB_URL: Schema = {
    "type": "string",
    "pattern": WEB_URL_PATTERN,
    "description": "an absolute http or https URL with a host",
}
ONE_LINE: Schema = {
    "type": "string",
    "minLength": 1,
    "description": "plain text on one line: whitespace runs become one space",
}
TEXT: Schema = {"type": "string", "minLength": 1, "description": "plain text"}


def category_sent(*, slug_required: bool) -> Schema:
    """A category as sent: a JSON Lines record (slug required) or a PUT body (slug optional,
    and equal to the URL's when given)."""
    slug = SLUG if slug_required else _optional(SLUG)
    return {
        "type": "object",
        "required": ["slug", "name"] if slug_required else ["name"],
        "properties": {
            "slug": slug,
            "name": {**ONE_LINE, "description": "required; plain text on one line, not blank"},
            "description": _optional(
                {"type": "string", "description": "plain text; the feeds' description"}
            ),
        },
        "description": "Unknown fields are ignored; `null` counts as absent.",
    }


CATEGORY: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name"],
    "properties": {"slug": SLUG, "name": ONE_LINE, "description": TEXT},
    "description": "A category as accepted: normalised, absent fields left out.",
}


def _image_sent() -> Schema:
    return {
        "type": ["object", "null"],
        "required": ["url"],
        "properties": {
            "url": WEB_URL,
            "caption": _optional({"type": "string"}),
            "mime_type": _optional(
                {"type": "string", "description": "an `image/…` media type (lower-cased)"}
            ),
            "length": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_LENGTH},
        },
        "description": "the lead photo, never fetched",
    }


def article_sent(*, id_required: bool) -> Schema:
    """An article as sent: a JSON Lines record or batch member (id required) or a PUT body (id
    optional, and equal to the URL's when given)."""
    required = ["url", "title", "categories", "published_at"]
    return {
        "type": "object",
        "required": ["id", *required] if id_required else required,
        "properties": {
            "id": ARTICLE_ID if id_required else _optional(ARTICLE_ID),
            "url": {**WEB_URL, "description": "the article page: " + WEB_URL["description"]},
            "title": {**ONE_LINE, "description": "required; not blank"},
            "summary": _optional({"type": "string", "description": "the sapo, plain text"}),
            "content_html": _optional(
                {
                    "type": "string",
                    "description": "the body's HTML, sanitised before it is stored (an allowlist "
                    "of elements and attributes; relative links made absolute against `url`)",
                }
            ),
            "author": _optional({"type": "string"}),
            "categories": {
                "type": "array",
                "minItems": 1,
                "items": SLUG,
                "description": "slugs of existing categories; repeats are dropped, the order "
                "is kept",
            },
            "image": _image_sent(),
            "published_at": {
                **SENT_TIME,
                "description": SENT_TIME["description"] + "; in the future: embargoed until then",
            },
            "updated_at": _optional(
                {
                    **SENT_TIME,
                    "pattern": r"^\s*$|" + DATE_TIME_PATTERN,
                    "description": "the last edit, written like `published_at`; blank counts as "
                    "absent",
                }
            ),
        },
        "description": "Unknown fields are ignored; `null` counts as absent. Text is normalised "
        "to NFC and characters XML 1.0 forbids are removed.",
    }


ARTICLE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "url", "title", "categories", "published_at"],
    "properties": {
        "id": ARTICLE_ID,
        "url": WEB_URL,
        "title": ONE_LINE,
        "summary": TEXT,
        "content_html": {"type": "string", "minLength": 1, "description": "sanitised HTML"},
        "author": ONE_LINE,
        "categories": {"type": "array", "minItems": 1, "uniqueItems": True, "items": SLUG},
        "image": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": WEB_URL,
                "caption": ONE_LINE,
                "mime_type": {"type": "string", "pattern": IMAGE_TYPE_PATTERN},
                "length": {"type": "integer", "minimum": 0, "maximum": MAX_LENGTH},
            },
        },
        "published_at": UTC_TIME,
        "updated_at": UTC_TIME,
    },
    "description": "An article as accepted: normalised, times in UTC, absent fields left out.",
}

FIELD_ERROR: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field", "message"],
    "properties": {
        "field": {
            "type": "string",
            "description": 'the path of the field at fault, like "categories[0]" or '
            '"image.url" (a query parameter\'s name on the list call); "" for the whole record',
        },
        "message": {
            "type": "string",
            "minLength": 1,
            "description": "what is wrong, and how to put it right",
        },
    },
}

ERROR: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error", "details"],
    "properties": {
        "error": {"type": "string", "minLength": 1, "description": "what is wrong"},
        "details": {
            "type": "array",
            "items": ref("FieldError"),
            "description": "one entry per broken rule; empty when no field is at fault",
        },
    },
}

BATCH_RESULT: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["stored", "rejected"],
    "properties": {
        "stored": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["index", "id", "status"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "id": ARTICLE_ID,
                    "status": {
                        "enum": STATUSES,
                        "description": "`superseded`: the id came again later in the batch, "
                        "and the last one was stored",
                    },
                },
            },
        },
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["index", "details"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "id": {"type": "string", "description": "when the record had a string id"},
                    "details": {"type": "array", "minItems": 1, "items": ref("FieldError")},
                },
            },
        },
    },
}

CATEGORY_LIST: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["categories"],
    "properties": {"categories": {"type": "array", "items": ref("Category")}},
}

ARTICLE_PAGE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["articles", "next_cursor", "next"],
    "properties": {
        "articles": {"type": "array", "items": ref("Article")},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "where the next page starts (pass it as `cursor`); null on the last "
            "page",
        },
        "next": {
            "type": ["string", "null"],
            "format": "uri",
            "description": "the next page's URL: the same filters and limit, and the cursor; "
            "null on the last page",
        },
    },
}


def components() -> dict[str, Schema]:
    """Every schema, by its name in ``components/schemas``."""
    return {
        "CategoryRecord": category_sent(slug_required=True),
        "CategoryBody": category_sent(slug_required=False),
        "Category": CATEGORY,
        "ArticleRecord": article_sent(id_required=True),
        "ArticleBody": article_sent(id_required=False),
        "Article": ARTICLE,
        "Batch": {
            "type": "array",
            "items": ref("ArticleRecord"),
            "maxItems": MAX_BATCH,
            "description": "a member that breaks a rule is rejected alone, in the answer",
        },
        "BatchResult": BATCH_RESULT,
        "CategoryList": CATEGORY_LIST,
        "ArticlePage": ARTICLE_PAGE,
        "Error": ERROR,
        "FieldError": FIELD_ERROR,
    }
