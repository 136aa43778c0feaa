"""The OpenAPI 3.1 document of the ingest API, built in one place: the one source of truth.

Served at ``GET /api/v1/openapi.json`` (public: it holds no secret; cacheable, with a strong
ETag), and printed by ``python -m feedsvc.web.openapi [BASE_URL]``. The records' JSON Schemas
come from feedsvc/web/schemas.py and the limits from the code that enforces them; the tests
check the document against the OpenAPI 3.1 schema and run Schemathesis against the app with it.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any

from flask import Response

from feedsvc.http.conditional import is_not_modified
from feedsvc.publish.snapshot import strong_etag
from feedsvc.web import listing, schemas
from feedsvc.web.errors import JSON_TYPE, NOSNIFF

Spec = dict[str, Any]

PREFIX = "/api/v1"
API_VERSION = "1.1.0"
DOCUMENT_MAX_AGE = 300  # seconds a client may keep the document without asking again


def _ref(kind: str, name: str) -> Spec:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json_content(schema: Spec, example: object = None) -> Spec:
    media: Spec = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


PRIVATE_HEADERS: Spec = {
    "Cache-Control": _ref("headers", "NoStore"),
    "X-Content-Type-Options": _ref("headers", "NoSniff"),
}


def _answer(description: str, schema: str | None, **headers: Spec) -> Spec:
    """A response: JSON of ``schema`` (None: no body), private, with ``headers``."""
    response: Spec = {
        "description": description,
        "headers": {**PRIVATE_HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}},
    }
    if schema is not None:
        response["content"] = _json_content(schemas.ref(schema))
    return response


_ETAG = _ref("headers", "ETag")


def _errors(*statuses: int) -> Spec:
    """The error responses of an operation, by status."""
    return {str(status): _ref("responses", _ERROR_NAMES[status]) for status in statuses}


# --- components ---------------------------------------------------------------------------------

_ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    422: "Unprocessable",
    503: "Unavailable",
}


def _error_response(description: str, **headers: Spec) -> Spec:
    return _answer(description, "Error", **headers)


RESPONSES: Spec = {
    "BadRequest": _error_response(
        "The request cannot be read: a body that is empty or not acceptable JSON (NaN, "
        "duplicate keys, nesting deeper than 32, invalid UTF-8), not an object (PUT) or not an "
        "array (POST); a query string on a call that takes none, or a bad parameter of the list "
        "call; a malformed If-Match or If-None-Match, or one on a call that takes none; a "
        "form-encoded body or a token in the URL sent beside an Authorization header (then "
        'with `WWW-Authenticate: Bearer realm="feedsvc", error="invalid_request"`).',
        WWW_Authenticate=_ref("headers", "WWWAuthenticateInvalidRequest"),
    ),
    "Unauthorized": _error_response(
        "No valid token: missing, malformed or unknown, another scheme than Bearer, no tokens "
        "configured, or a token in the URL or a form-encoded body (never read: rotate it).",
        WWW_Authenticate=_ref("headers", "WWWAuthenticate"),
    ),
    "NotFound": _error_response("No such record, or no API endpoint at this path."),
    "MethodNotAllowed": _error_response(
        "A method this path does not take (any path under /api/v1).",
        Allow=_ref("headers", "Allow"),
    ),
    "Conflict": _error_response(
        "The category still has articles: move them to other categories or delete them first."
    ),
    "PreconditionFailed": _error_response(
        "If-Match names no current version of the article (it changed since it was read, or "
        "does not exist), or If-None-Match names the current one. Nothing was changed. The "
        "current version's ETag comes along when the article exists.",
        ETag=_ref("headers", "CurrentETag"),
    ),
    "TooLarge": _error_response(
        "The body is larger than FEEDSVC_MAX_BODY_BYTES (refused before it is read when it has "
        f"a Content-Length), or a batch holds more than {schemas.MAX_BATCH} articles."
    ),
    "UnsupportedMediaType": _error_response(
        "A Content-Type that is not JSON (`application/json` or `application/…+json`), or a "
        "charset other than UTF-8."
    ),
    "Unprocessable": _error_response(
        "A field breaks a rule, an article names a category that does not exist, or a body "
        "`id`/`slug` differs from the URL's; `details` names each field. Nothing was written."
    ),
    "Unavailable": _error_response(
        "The database is unavailable (`Retry-After: 5`), or two requests created the same "
        "record at the same instant (`Retry-After: 1`). Nothing was written: retry.",
        Retry_After=_ref("headers", "RetryAfter"),
    ),
}

HEADERS: Spec = {
    "NoStore": {
        "description": "Every API answer is private to its caller and changes with every write.",
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
    },
    "NoSniff": {
        "description": "No browser guesses another type than the one sent.",
        "required": True,
        "schema": {"type": "string", "const": NOSNIFF},
    },
    "ETag": {
        "description": "The article's version: a strong entity-tag, the hash of the record as "
        "stored. Send it back in If-Match to write only over this version.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
    },
    "CurrentETag": {
        "description": "The current version's entity-tag, when the article exists.",
        "required": False,
        "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
    },
    "WWWAuthenticate": {
        "description": 'The challenge (RFC 6750 §3): `Bearer realm="feedsvc"`, with '
        '`error="invalid_token"` for a malformed or unknown token.',
        "required": True,
        "schema": {"type": "string", "pattern": '^Bearer realm="feedsvc"'},
    },
    "WWWAuthenticateInvalidRequest": {
        "description": 'With a token outside the header beside one in it: `Bearer realm="feedsvc", '
        'error="invalid_request"`.',
        "required": False,
        "schema": {"type": "string", "pattern": '^Bearer realm="feedsvc"'},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Allow": {
        "description": "The methods this path takes.",
        "required": True,
        "schema": {"type": "string"},
    },
}

PARAMETERS: Spec = {
    "Slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "the category's slug",
        "schema": schemas.SLUG,
    },
    "ArticleId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "the article's id",
        "schema": schemas.ARTICLE_ID,
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "Go on only if the article exists at one of these versions (ETags, "
        "strong comparison), or at all with `*`; else `412`.",
        "schema": {"type": "string", "examples": [f'"{"0" * 64}"', "*"]},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "Go on only if the article is at none of these versions (weak "
        "comparison), or does not exist with `*` (create only). When it does not hold: `304` "
        "for GET, `412` for PUT and DELETE.",
        "schema": {"type": "string", "examples": ["*"]},
    },
    "Category": {
        "name": "category",
        "in": "query",
        "required": False,
        "description": "only the articles in this category (`all`: every category)",
        "schema": {"type": "string", "maxLength": 64, "pattern": schemas.SLUG_PATTERN},
    },
    "ChangedSince": {
        "name": "changed_since",
        "in": "query",
        "required": False,
        "description": "only the articles written (created, replaced) at or after this "
        "instant, written like a record's times; in a URL, write a `+` offset as `%2B` (a "
        "bare `+` means a space), or give the time in UTC with `Z`",
        "schema": {"type": "string", "pattern": schemas.DATE_TIME_PATTERN},
        "example": "2026-11-20T03:00:00Z",
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "where the page starts: `next_cursor` of the previous page, as it is",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,400}$"},
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"articles per page (default {listing.DEFAULT_LIMIT})",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": listing.MAX_LIMIT,
            "default": listing.DEFAULT_LIMIT,
        },
    },
}

_PARAMETER = {name: _ref("parameters", name) for name in PARAMETERS}

# --- examples -----------------------------------------------------------------------------------

CATEGORY_EXAMPLE = {"name": "Quốc phòng - An ninh", "description": "Tin quốc phòng, an ninh"}
ARTICLE_EXAMPLE = {
    "url": "https://bienphong.example/tin/don-lung-cu.html",
    "title": "Đồn Biên phòng Lũng Cú tuần tra mốc quốc giới",
    "summary": "Biên phòng - Sáng 19/11, cán bộ, chiến sĩ Đồn Biên phòng Lũng Cú tuần tra.",
    "content_html": "<p>Nội dung bài viết.</p>",
    "author": "Hồng Pha",
    "categories": ["thoi-su"],
    "image": {
        "url": "https://bienphong.example/anh/moc-422.jpg",
        "caption": "Mốc 422",
        "mime_type": "image/jpeg",
        "length": 48213,
    },
    "published_at": "2026-11-19T08:30:00+07:00",
}

# --- paths --------------------------------------------------------------------------------------


def _paths() -> Spec:
    return {
        "/openapi.json": {"get": _get_document()},
        "/categories": {"get": _list_categories()},
        "/categories/{slug}": {
            "parameters": [_PARAMETER["Slug"]],
            "get": _get_category(),
            "put": _put_category(),
            "delete": _delete_category(),
        },
        "/articles": {"get": _list_articles(), "post": _post_articles()},
        "/articles/{id}": {
            "parameters": [_PARAMETER["ArticleId"]],
            "get": _get_article(),
            "put": _put_article(),
            "delete": _delete_article(),
        },
    }


def _get_document() -> Spec:
    return {
        "operationId": "getOpenAPI",
        "tags": ["document"],
        "summary": "This document",
        "description": "Public (no token). Cacheable: a strong ETag, and `304` to a matching "
        "If-None-Match.",
        "security": [],
        "parameters": [{**PARAMETERS["IfNoneMatch"], "description": "an ETag of this document"}],
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 document of the ingest API.",
                "headers": {
                    "ETag": {
                        "required": True,
                        "description": "a strong entity-tag of the document's bytes",
                        "schema": {"type": "string"},
                    },
                    "Cache-Control": {
                        "required": True,
                        "schema": {"type": "string", "const": _DOCUMENT_CACHE},
                    },
                },
                "content": _json_content({"type": "object"}),
            },
            "304": {"description": "The document has not changed."},
            **_errors(400, 401),
        },
    }


def _list_categories() -> Spec:
    return {
        "operationId": "listCategories",
        "tags": ["categories"],
        "summary": "List every category",
        "description": "Every category as accepted, by slug.",
        "responses": {
            "200": _answer("Every category.", "CategoryList"),
            **_errors(400, 401, 503),
        },
    }


def _get_category() -> Spec:
    return {
        "operationId": "getCategory",
        "tags": ["categories"],
        "summary": "Read one category",
        "responses": {
            "200": _answer("The category as accepted.", "Category"),
            **_errors(400, 401, 404, 503),
        },
    }


def _put_category() -> Spec:
    return {
        "operationId": "putCategory",
        "tags": ["categories"],
        "summary": "Create or replace one category",
        "description": "A `slug` in the body must be absent or equal the URL's. Renaming a "
        "category changes every feed that shows it.",
        "requestBody": {
            "required": True,
            "content": _json_content(schemas.ref("CategoryBody"), CATEGORY_EXAMPLE),
        },
        "responses": {
            "200": _answer("Replaced, or unchanged (an identical repeat).", "Category"),
            "201": _answer("Created.", "Category"),
            **_errors(400, 401, 413, 415, 422, 503),
        },
    }


def _delete_category() -> Spec:
    return {
        "operationId": "deleteCategory",
        "tags": ["categories"],
        "summary": "Delete one category and its feeds",
        "description": "Only a category without articles: move them to other categories (PUT "
        "each with new categories) or delete them first, else `409`. Its feeds disappear: "
        "`/feeds/SLUG.*` answers `404`, and WebSub subscriptions to them end. `all` is not a "
        "category, and cannot be deleted (`404`).",
        "responses": {
            "204": {"description": "Deleted.", "headers": PRIVATE_HEADERS},
            **_errors(400, 401, 404, 409, 503),
        },
    }


def _list_articles() -> Spec:
    return {
        "operationId": "listArticles",
        "tags": ["articles"],
        "summary": "List articles, in the order they changed",
        "description": "Stored articles (deleted ones are not listed), oldest change first, by "
        "(time of the last write, id): a stable order in which an article written again moves "
        "to the end, so a client that pages through sees it again rather than missing it. "
        "Follow `next` (or pass `next_cursor` as `cursor` with the same filters) until it is "
        "null. The only call that takes query parameters: an unknown or repeated one is `400`. "
        "A write still in progress on another connection may carry an earlier time than one "
        "already listed: to sync with `changed_since`, start a few seconds before the last run.",
        "parameters": [
            _PARAMETER["Category"],
            _PARAMETER["ChangedSince"],
            _PARAMETER["Cursor"],
            _PARAMETER["Limit"],
        ],
        "responses": {
            "200": _answer("A page of articles.", "ArticlePage"),
            **_errors(400, 401, 404, 503),
        },
    }


def _post_articles() -> Spec:
    return {
        "operationId": "postArticles",
        "tags": ["articles"],
        "summary": "Create or replace a batch of articles",
        "description": f"At most {schemas.MAX_BATCH} articles, stored in one transaction; a "
        "record that breaks a rule is rejected alone (by its index), the others are stored. An "
        "id repeated in the batch: the last one wins, the earlier ones are `superseded`. Takes "
        "no If-Match: send conditional writes one by one with PUT.",
        "requestBody": {
            "required": True,
            "content": _json_content(
                schemas.ref("Batch"), [{"id": "bp-2026-1119-lungcu", **ARTICLE_EXAMPLE}]
            ),
        },
        "responses": {
            "200": _answer("What was stored and what was rejected, by index.", "BatchResult"),
            **_errors(400, 401, 413, 415, 503),
        },
    }


def _get_article() -> Spec:
    return {
        "operationId": "getArticle",
        "tags": ["articles"],
        "summary": "Read one article",
        "description": "The stored article as accepted (normalised), with its ETag.",
        "parameters": [_PARAMETER["IfMatch"], _PARAMETER["IfNoneMatch"]],
        "responses": {
            "200": _answer("The article as accepted.", "Article", ETag=_ETAG),
            "304": {
                "description": "If-None-Match names the current version.",
                "headers": {**PRIVATE_HEADERS, "ETag": _ETAG},
            },
            **_errors(400, 401, 404, 412, 503),
        },
    }


def _put_article() -> Spec:
    return {
        "operationId": "putArticle",
        "tags": ["articles"],
        "summary": "Create or replace one article",
        "description": "An `id` in the body must be absent or equal the URL's. With If-Match, "
        "only over that version (a retry that arrives after a newer write gets `412` instead "
        "of overwriting it); with `If-None-Match: *`, only if the article does not exist. The "
        "condition is checked before the record's rules (`412` before `422`).",
        "parameters": [_PARAMETER["IfMatch"], _PARAMETER["IfNoneMatch"]],
        "requestBody": {
            "required": True,
            "content": _json_content(schemas.ref("ArticleBody"), ARTICLE_EXAMPLE),
        },
        "responses": {
            "200": _answer("Replaced, or unchanged (an identical repeat).", "Article", ETag=_ETAG),
            "201": _answer("Created (also over a deleted article).", "Article", ETag=_ETAG),
            **_errors(400, 401, 412, 413, 415, 422, 503),
        },
    }


def _delete_article() -> Spec:
    return {
        "operationId": "deleteArticle",
        "tags": ["articles"],
        "summary": "Delete one article",
        "description": "Removes it from every feed. With If-Match, only that version.",
        "parameters": [_PARAMETER["IfMatch"], _PARAMETER["IfNoneMatch"]],
        "responses": {
            "204": {"description": "Deleted.", "headers": PRIVATE_HEADERS},
            **_errors(400, 401, 404, 412, 503),
        },
    }


# --- the document -------------------------------------------------------------------------------

_DOCUMENT_CACHE = f"public, max-age={DOCUMENT_MAX_AGE}"

DESCRIPTION = """\
The newsroom's CMS writes categories and articles here; feedsvc publishes them as RSS, Atom and
JSON Feed per category. JSON in and out, UTF-8.

- **Authentication**: `Authorization: Bearer TOKEN` on every call but this document's, with a
  token from `FEEDSVC_API_TOKENS`. A token in the URL or in a form is refused and never read.
- **Errors**: `{"error": "…", "details": [{"field": "…", "message": "…"}]}`; every answer is
  `Cache-Control: no-store`. A method a path does not take gets `405` with `Allow`; a path under
  /api/v1 that no call has, `404`.
- **Query parameters**: only the list of articles takes them; any other call refuses a query
  string with `400`.
- **Versions**: one article's answers carry its `ETag`; `If-Match` on PUT and DELETE writes only
  over that version (`412` otherwise).
- **Records**: an article or category sent again replaces the stored one; an identical repeat
  changes nothing. The rules are in the schemas and in docs/interface.md ("Records").
- Examples with curl for every call: docs/api.md.
"""


def document(base_url: str) -> Spec:
    """The OpenAPI 3.1 document of the API served under ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "feedsvc ingest API",
            "version": API_VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{"url": base_url + PREFIX}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "categories", "description": "the categories, each with its feeds"},
            {"name": "articles", "description": "the articles, in any number of categories"},
            {"name": "document", "description": "this description of the API"},
        ],
        "paths": _paths(),
        "components": {
            "schemas": schemas.components(),
            "responses": RESPONSES,
            "headers": HEADERS,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from FEEDSVC_API_TOKENS (several may be configured, "
                    "so that one can be rotated out)",
                }
            },
        },
    }


@lru_cache(maxsize=4)
def document_bytes(base_url: str) -> tuple[bytes, str]:
    """The document as served, and its strong ETag (built once per base URL)."""
    body = (json.dumps(document(base_url), ensure_ascii=False, indent=2) + "\n").encode()
    return body, strong_etag(body)


def serve(base_url: str, if_none_match: str | None) -> Response:
    """The document's response: ``200``, or ``304`` when If-None-Match names it."""
    body, etag = document_bytes(base_url)
    headers = {"ETag": etag, "Cache-Control": _DOCUMENT_CACHE, "X-Content-Type-Options": NOSNIFF}
    if is_not_modified(if_none_match, None, etag, 0, True):
        response = Response(status=304, headers=headers)
        del response.headers["Content-Type"]
        return response
    return Response(body, content_type=JSON_TYPE, headers=headers)


def main(argv: list[str]) -> int:
    """Print the document: ``python -m feedsvc.web.openapi [BASE_URL]``."""
    base_url = argv[0] if argv else "http://127.0.0.1:8000"
    sys.stdout.write(document_bytes(base_url.rstrip("/"))[0].decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
