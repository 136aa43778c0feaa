"""The OpenAPI document: valid against the OpenAPI 3.1 schema, served in public with an ETag,
in step with the app's routes; and its record schemas in step with ingest/records.py (every
valid record the tests use validates, representative invalid ones do not, in both)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from feedsvc import store
from feedsvc.demo.newsroom import demo_articles, demo_categories
from feedsvc.ingest.records import RecordError, parse_article, parse_category
from feedsvc.web import openapi
from feedsvc.web.openapi import document

from tests.helpers import paths
from tests.helpers.app import NEWSROOM, article, services
from tests.helpers.openapi import DOCUMENT, errors_of

REPO = paths.REPO
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


# --- the document -------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    # A development tool (requirements-dev.txt): CI installs it, and fails on any skip.
    spec_validator = pytest.importorskip(
        "openapi_spec_validator", reason="pip install -r requirements-dev.txt"
    )
    checker = spec_validator.OpenAPIV31SpecValidator(DOCUMENT)
    errors = [error.message for error in checker.iter_errors()]
    assert errors == []
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["servers"] == [{"url": "http://feeds.test/api/v1"}]


def test_every_schema_is_valid_json_schema() -> None:
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the fault


def test_document_and_routes_agree(app: Flask) -> None:
    """Every call the app answers under /api/v1 is documented, and every documented one routed."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<article_id>", "{id}")
            path = path.replace("<slug>", "{slug}")
            routed |= {(method.lower(), path) for method in rule.methods or () if method != "HEAD"}
    documented = {
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routed == documented


def test_every_operation_documents_its_errors_and_security() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            public = path == "/openapi.json"
            assert {"400", "401"} <= statuses, (method, path)
            assert ("503" in statuses) != public, (method, path)
            assert (operation.get("security") == []) == public, (method, path)
            if method in ("put", "post"):
                assert {"413", "415"} <= statuses, (method, path)
    security = DOCUMENT["components"]["securitySchemes"]["bearer"]
    assert security == {**security, "type": "http", "scheme": "bearer"}
    assert DOCUMENT["security"] == [{"bearer": []}]


def test_error_responses_document_their_headers() -> None:
    responses = DOCUMENT["components"]["responses"]
    header_names = {name: set(response["headers"]) for name, response in responses.items()}
    assert "WWW-Authenticate" in header_names["Unauthorized"]
    assert "Retry-After" in header_names["Unavailable"]
    assert "Allow" in header_names["MethodNotAllowed"]
    assert "ETag" in header_names["PreconditionFailed"]
    for name, response in responses.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, name
        assert {"Cache-Control", "X-Content-Type-Options"} <= header_names[name], name
    one_article = DOCUMENT["paths"]["/articles/{id}"]
    names = {parameter["$ref"].rsplit("/", 1)[1] for parameter in one_article["put"]["parameters"]}
    assert names == {"IfMatch", "IfNoneMatch"}
    assert "ETag" in one_article["get"]["responses"]["200"]["headers"]
    assert "parameters" not in DOCUMENT["paths"]["/articles"]["post"]  # the batch takes none


def _operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    ]


@pytest.mark.parametrize(("method", "path"), _operations(), ids=" ".join)
@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="feedsvc"'),
        ("Bearer wrong-token", 'Bearer realm="feedsvc", error="invalid_token"'),
        ("Basic dXNlcjpwYXNz", 'Bearer realm="feedsvc"'),
    ],
    ids=["none", "wrong", "basic"],
)
def test_every_call_but_the_document_needs_a_token(
    app: Flask,
    client: FlaskClient,
    method: str,
    path: str,
    authorization: str | None,
    challenge: str,
) -> None:
    url = "/api/v1" + path.replace("{slug}", "thoi-su").replace("{id}", "bp-1")
    body = {"PUT": {"name": "x"}, "POST": []}.get(method)
    headers = {} if authorization is None else {"Authorization": authorization}
    with services(app).db.reading() as session:
        before = store.read_counter(session, "changes")
    response = client.open(url, method=method, json=body, headers=headers)
    if path == "/openapi.json":
        assert response.status_code == 200
        return
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge
    assert errors_of("Error", json.loads(response.data)) == []
    with services(app).db.reading() as session:
        assert store.read_counter(session, "changes") == before


def test_served_in_public_with_an_etag(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")  # no token
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == f"public, max-age={openapi.DOCUMENT_MAX_AGE}"
    assert json.loads(response.data) == DOCUMENT
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get("/api/v1/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and "Content-Type" not in again.headers
    head = client.head("/api/v1/openapi.json")
    assert head.status_code == 200 and head.headers["ETag"] == etag
    # A token is not needed, and one sent is not checked.
    wrong = client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 200


@pytest.mark.parametrize(
    ("method", "query", "status"),
    [
        ("GET", "pretty=1", 400),  # no call but the list of articles takes a query
        ("GET", "access_token=x", 401),  # a token in the URL is refused, even here
        ("PUT", "", 405),  # public: no token needed to learn which methods it takes
    ],
)
def test_document_refusals(client: FlaskClient, method: str, query: str, status: int) -> None:
    response = client.open(
        f"/api/v1/openapi.json?{query}" if query else "/api/v1/openapi.json", method=method
    )
    assert response.status_code == status
    assert set(json.loads(response.data)) == {"error", "details"}


def test_printed_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert openapi.main(["https://rss.example/"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == document("https://rss.example")


# --- the record schemas and the validator agree ------------------------------------------------


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _render_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((paths.DATA / "render_articles.json").read_text())
    return data


def valid_categories() -> list[dict[str, Any]]:
    """Every category record the tests and the demo use."""
    return [
        *_jsonl(REPO / "config" / "categories.jsonl"),
        *_jsonl(REPO / "examples" / "records" / "categories.jsonl"),
        *demo_categories(),
        *NEWSROOM,
        *_render_data()["categories"],
        {"slug": "a", "name": "A", "description": None},  # null counts as absent
        {"slug": "x" * 64, "name": "  Tên  dài  ", "extra": "ignored"},
    ]


def valid_articles() -> list[dict[str, Any]]:
    """Every article record the tests and the demo use, and the API's examples."""
    api_article = json.loads((paths.DATA / "api_article.json").read_text())
    return [
        *_jsonl(REPO / "config" / "seed_article.jsonl"),
        *_jsonl(REPO / "examples" / "records" / "articles.jsonl"),
        *_jsonl(paths.DATA / "records_seed.jsonl"),
        *_render_data()["articles"],
        *demo_articles("http://feeds.test", datetime(2026, 11, 20, tzinfo=UTC)),
        {"id": "bp-2026-1119-lungcu", **api_article["sent"]},
        {"id": "bp-x", **openapi.ARTICLE_EXAMPLE},
        article("a1", "thoi-su", "kinh-te"),
        article("a2", summary=None, image=None, updated_at=""),
        article("a3", published_at="2026-11-19 08:00", updated_at="2026-11-19T08:00:00.5Z"),
    ]


def test_valid_categories_validate_in_both() -> None:
    records = valid_categories()
    assert len(records) > 20
    for record in records:
        assert errors_of("CategoryRecord", record) == [], record
        accepted = parse_category(record).to_json()
        assert errors_of("Category", accepted) == [], accepted
        assert errors_of("CategoryBody", {**record, "slug": None}) == []


def test_valid_articles_validate_in_both() -> None:
    records = valid_articles()
    assert len(records) > 300
    for record in records:
        assert errors_of("ArticleRecord", record) == [], record["id"]
        accepted = parse_article(record, TZ).to_json()
        assert errors_of("Article", accepted) == [], accepted
        body = {key: value for key, value in record.items() if key != "id"}
        assert errors_of("ArticleBody", body) == []
    assert errors_of("Batch", records[:1000]) == []


INVALID_CATEGORIES = [
    ("no slug", {"name": "Thời sự"}, "slug"),
    ("slug with capitals", {"slug": "Thoi-Su", "name": "x"}, "slug"),
    ("slug with underscore", {"slug": "thoi_su", "name": "x"}, "slug"),
    ("slug with double hyphen", {"slug": "thoi--su", "name": "x"}, "slug"),
    ("slug too long", {"slug": "x" * 65, "name": "x"}, "slug"),
    ("slug all", {"slug": "all", "name": "x"}, "slug"),
    ("slug number", {"slug": 7, "name": "x"}, "slug"),
    ("no name", {"slug": "thoi-su"}, "name"),
    ("empty name", {"slug": "thoi-su", "name": ""}, "name"),
    ("name number", {"slug": "thoi-su", "name": 5}, "name"),
    ("description number", {"slug": "thoi-su", "name": "x", "description": 5}, "description"),
    ("not an object", ["thoi-su"], ""),
]


@pytest.mark.parametrize(
    ("record", "field"),
    [case[1:] for case in INVALID_CATEGORIES],
    ids=[c[0] for c in INVALID_CATEGORIES],
)
def test_invalid_categories_fail_in_both(record: object, field: str) -> None:
    assert errors_of("CategoryRecord", record) != []
    with pytest.raises(RecordError) as raised:
        parse_category(record)
    assert field in [error.field for error in raised.value.errors]


GOOD = article("bp-1")
INVALID_ARTICLES = [
    ("no id", {**GOOD, "id": None}, "id"),
    ("id with a space", {**GOOD, "id": "bp 1"}, "id"),
    ("id starts with a hyphen", {**GOOD, "id": "-bp"}, "id"),
    ("id too long", {**GOOD, "id": "a" * 201}, "id"),
    ("id non-ASCII", {**GOOD, "id": "bài-1"}, "id"),
    ("id number", {**GOOD, "id": 12}, "id"),
    ("no url", {**GOOD, "url": None}, "url"),
    ("ftp url", {**GOOD, "url": "ftp://bienphong.example/a"}, "url"),
    ("relative url", {**GOOD, "url": "/tin/a.html"}, "url"),
    ("no title", {**GOOD, "title": None}, "title"),
    ("empty title", {**GOOD, "title": ""}, "title"),
    ("summary number", {**GOOD, "summary": 5}, "summary"),
    ("author array", {**GOOD, "author": ["a"]}, "author"),
    ("content_html object", {**GOOD, "content_html": {}}, "content_html"),
    ("no categories", {**GOOD, "categories": None}, "categories"),
    ("empty categories", {**GOOD, "categories": []}, "categories"),
    ("categories a string", {**GOOD, "categories": "thoi-su"}, "categories"),
    ("bad slug", {**GOOD, "categories": ["Thoi Su"]}, "categories[0]"),
    ("slug all", {**GOOD, "categories": ["all"]}, "categories[0]"),
    ("image a string", {**GOOD, "image": "https://x.example/a.jpg"}, "image"),
    ("image without url", {**GOOD, "image": {"caption": "Ảnh"}}, "image.url"),
    ("image ftp url", {**GOOD, "image": {"url": "ftp://x.example/a.jpg"}}, "image.url"),
    (
        "image length negative",
        {**GOOD, "image": {"url": "https://x.example/a", "length": -1}},
        "image.length",
    ),
    (
        "image length a string",
        {**GOOD, "image": {"url": "https://x.example/a", "length": "9"}},
        "image.length",
    ),
    (
        "image length too large",
        {**GOOD, "image": {"url": "https://x.example/a", "length": 2**63}},
        "image.length",
    ),
    ("no published_at", {**GOOD, "published_at": None}, "published_at"),
    ("a date alone", {**GOOD, "published_at": "2026-11-19"}, "published_at"),
    ("not a time", {**GOOD, "published_at": "hôm qua"}, "published_at"),
    ("time number", {**GOOD, "published_at": 1763539200}, "published_at"),
    ("updated_at not a time", {**GOOD, "updated_at": "19/11/2026"}, "updated_at"),
    ("not an object", "bp-1", ""),
]


@pytest.mark.parametrize(
    ("record", "field"),
    [case[1:] for case in INVALID_ARTICLES],
    ids=[c[0] for c in INVALID_ARTICLES],
)
def test_invalid_articles_fail_in_both(record: object, field: str) -> None:
    assert errors_of("ArticleRecord", record) != []
    with pytest.raises(RecordError) as raised:
        parse_article(record, TZ)
    assert field in [error.field for error in raised.value.errors]


def test_the_batch_schema_caps_its_size() -> None:
    assert errors_of("Batch", [GOOD] * 1000) == []
    assert errors_of("Batch", [GOOD] * 1001) != []
