"""The ingest API through the real app: every status code of every endpoint, the exact error
body, field paths in details, that a rejected request writes nothing, batches, and the feeds."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc import create_app, store
from feedsvc.clock import FrozenClock

from tests.helpers import paths
from tests.helpers.app import services
from tests.helpers.openapi import errors_of

AUTH = {"Authorization": "Bearer test-token-1"}
SECRETS = ("test-token-1", "test-token-2")
DATA = json.loads((paths.DATA / "api_article.json").read_text())
MAX_BODY = 2048


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log line of every test here, at DEBUG, is free of every token."""
    caplog.set_level(logging.DEBUG)
    yield
    # In teardown caplog.records holds only this phase's records: collect every phase's.
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]
    for record in records:
        line = record.getMessage() + (record.exc_text or "")
        assert not [s for s in SECRETS if s in line], line


@pytest.fixture
def newsdesk(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client with two categories created through the API."""
    for slug, name in [("thoi-su", "Thời sự"), ("quoc-phong", "Quốc phòng - An ninh")]:
        assert put(client, f"/api/v1/categories/{slug}", {"name": name}).status_code == 201
    return client


def article(article_id: str = "bp-1", **fields: Any) -> dict[str, Any]:
    """A valid article; a field given as ... is left out."""
    record: dict[str, Any] = {
        "id": article_id,
        "url": f"https://bienphong.example/{article_id}.html",
        "title": f"Tin {article_id}: Đồn Biên phòng tuần tra",
        "categories": ["thoi-su"],
        "published_at": "2026-11-19T08:00:00+07:00",
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not ...}


def put(client: FlaskClient, path: str, payload: object) -> TestResponse:
    return client.put(path, json=payload, headers=AUTH)


def send(client: FlaskClient, method: str, path: str, data: bytes, **headers: str) -> TestResponse:
    """A raw body with a JSON Content-Type unless one is given."""
    all_headers = {**AUTH, "Content-Type": "application/json", **headers}
    return client.open(path, method=method, data=data, headers=all_headers)


def parsed(response: TestResponse) -> Any:
    """The JSON body of an API response, after checking the headers every one carries."""
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return json.loads(response.data)


def error_of(response: TestResponse, status: int) -> tuple[str, list[str]]:
    """The message and the detail fields of an error response, checking its exact shape."""
    assert response.status_code == status, response.data
    body = parsed(response)
    assert errors_of("Error", body) == []  # the OpenAPI document's error body
    assert set(body) == {"error", "details"}
    assert isinstance(body["error"], str) and body["error"]
    for detail in body["details"]:
        assert set(detail) == {"field", "message"} and detail["message"], detail
    return body["error"], [detail["field"] for detail in body["details"]]


def changes(app: Flask) -> tuple[int, int]:
    """The store's change counter and article count: any write moves the first."""
    with services(app).db.reading() as session:
        return store.read_counter(session, "changes"), store.count_articles(session)


def feed(client: FlaskClient, key: str) -> tuple[list[str], str, str]:
    """The item ids of a JSON feed, its ETag and Last-Modified."""
    response = client.get(f"/feeds/{key}.json")
    assert response.status_code == 200
    items = json.loads(response.data)["items"]
    return (
        [item["id"] for item in items],
        response.headers["ETag"],
        response.headers["Last-Modified"],
    )


def item_id(article_id: str) -> str:
    return f"tag:bienphong.example,2026:article/{article_id}"


# --- categories ---------------------------------------------------------------------------------


def test_put_category_created_replaced_unchanged(app: Flask, client: FlaskClient) -> None:
    path = "/api/v1/categories/bien-gioi"
    first = put(client, path, {"name": "Biên  giới"})
    assert first.status_code == 201
    assert parsed(first) == {"slug": "bien-gioi", "name": "Biên giới"}
    replaced = put(client, path, {"slug": "bien-gioi", "name": "Biên giới", "description": "Tin"})
    assert replaced.status_code == 200
    assert parsed(replaced) == {"slug": "bien-gioi", "name": "Biên giới", "description": "Tin"}
    before = changes(app)
    again = put(client, path, {"name": "Biên giới", "description": "Tin"})
    assert again.status_code == 200
    assert changes(app) == before  # an identical repeat writes nothing


@pytest.mark.parametrize(
    ("slug", "payload", "fields"),
    [
        ("bien-gioi", {"slug": "kinh-te", "name": "Kinh tế"}, ["slug"]),
        ("bien-gioi", {"slug": 7, "name": "Kinh tế"}, ["slug"]),
        ("bien-gioi", {"slug": "kinh-te"}, ["slug", "name"]),
        ("bien-gioi", {"name": "   "}, ["name"]),
        ("bien-gioi", {"name": "Biên giới", "description": 5}, ["description"]),
        ("all", {"name": "Tất cả"}, ["slug"]),
        ("Bien_Gioi", {"name": "Biên giới"}, ["slug"]),
        ("bien%01gioi", {"name": "Biên giới"}, ["slug"]),
    ],
)
def test_put_category_rule_broken_is_422(
    app: Flask, client: FlaskClient, slug: str, payload: dict[str, Any], fields: list[str]
) -> None:
    before = changes(app)
    message, detail_fields = error_of(put(client, f"/api/v1/categories/{slug}", payload), 422)
    assert detail_fields == fields
    assert "see details" in message
    assert changes(app) == before
    with services(app).db.reading() as session:
        assert store.list_categories(session) == []


# --- one article --------------------------------------------------------------------------------


def test_put_article_created_replaced_unchanged(app: Flask, newsdesk: FlaskClient) -> None:
    path = "/api/v1/articles/bp-1"
    created = put(newsdesk, path, article())
    assert created.status_code == 201
    assert parsed(created)["id"] == "bp-1"
    replaced = put(newsdesk, path, article(title="Tin mới"))
    assert replaced.status_code == 200
    assert parsed(replaced)["title"] == "Tin mới"
    before = changes(app)
    unchanged = put(newsdesk, path, article(title="Tin mới"))
    assert unchanged.status_code == 200
    assert changes(app) == before


def test_get_returns_the_article_as_accepted(newsdesk: FlaskClient) -> None:
    path = f"/api/v1/articles/{DATA['stored']['id']}"
    response = put(newsdesk, path, DATA["sent"])  # no "id": the URL's is taken
    assert response.status_code == 201
    expected = {key: value for key, value in DATA["stored"].items() if value is not None}
    assert parsed(response) == expected
    assert errors_of("Article", expected) == []
    fetched = newsdesk.get(path, headers=AUTH)
    assert fetched.status_code == 200
    assert parsed(fetched) == expected
    head = newsdesk.head(path, headers=AUTH)
    assert head.status_code == 200 and head.data == b""
    # Sending back what GET returned is an identical repeat.
    assert put(newsdesk, path, expected).status_code == 200


ARTICLE_422 = [
    ("body id differs", "bp-1", article(id="bp-2"), ["id"]),
    ("body id not a string", "bp-1", article(id=12), ["id"]),
    ("url id invalid", "bp%201", article(id=...), ["id"]),
    ("url id with a control", "bp%011", article(id=...), ["id"]),
    ("unknown category", "bp-1", article(categories=["khong-co"]), ["categories[0]"]),
    ("bad slug", "bp-1", article(categories=["thoi-su", "Thoi Su"]), ["categories[1]"]),
    ("no categories", "bp-1", article(categories=[]), ["categories"]),
    ("image url", "bp-1", article(image={"url": "ftp://x.example/a.jpg"}), ["image.url"]),
    (
        "image length",
        "bp-1",
        article(image={"url": "https://x.example/a.jpg", "length": -1}),
        ["image.length"],
    ),
    ("published_at", "bp-1", article(published_at="hôm qua"), ["published_at"]),
    ("no published_at", "bp-1", article(published_at=...), ["published_at"]),
    ("relative url", "bp-1", article(url="/tin/1.html"), ["url"]),
    ("blank title", "bp-1", article(title=" "), ["title"]),
    (
        "several",
        "bp-1",
        article(id="x", title=..., image={"url": "x"}),
        ["id", "title", "image.url"],
    ),
]


@pytest.mark.parametrize(
    ("case", "url_id", "payload", "fields"), ARTICLE_422, ids=[c[0] for c in ARTICLE_422]
)
def test_put_article_rule_broken_is_422(
    app: Flask,
    newsdesk: FlaskClient,
    case: str,
    url_id: str,
    payload: dict[str, Any],
    fields: list[str],
) -> None:
    before = changes(app)
    _, detail_fields = error_of(put(newsdesk, f"/api/v1/articles/{url_id}", payload), 422)
    assert detail_fields == fields
    assert changes(app) == before


def test_rejected_replacement_keeps_the_stored_article(app: Flask, newsdesk: FlaskClient) -> None:
    path = "/api/v1/articles/bp-1"
    stored = parsed(put(newsdesk, path, article()))
    before = changes(app)
    error_of(put(newsdesk, path, article(title="Tin mới", categories=["khong-co"])), 422)
    assert changes(app) == before
    assert parsed(newsdesk.get(path, headers=AUTH)) == stored


BAD_JSON = [
    ("NaN", b'{"title": NaN}'),
    ("Infinity", b'{"image": {"length": Infinity}}'),
    ("duplicate key", b'{"title": "a", "title": "b"}'),
    ("absurd nesting", b'{"x": ' + b"[" * 200 + b"]" * 200 + b"}"),
    ("invalid UTF-8", b'{"title": "Bi\xean ph\xf2ng"}'),
    ("byte order mark", b'\xef\xbb\xbf{"title": "a"}'),
    ("truncated", b'{"title": "a"'),
    ("trailing garbage", b"{} {}"),
    ("empty", b""),
    ("array, not an object", b"[]"),
    ("string, not an object", b'"bp-1"'),
    ("null", b"null"),
]


@pytest.mark.parametrize("data", [c[1] for c in BAD_JSON], ids=[c[0] for c in BAD_JSON])
@pytest.mark.parametrize("path", ["/api/v1/articles/bp-1", "/api/v1/categories/bien-gioi"])
def test_unparseable_body_is_400(app: Flask, newsdesk: FlaskClient, path: str, data: bytes) -> None:
    before = changes(app)
    message, detail_fields = error_of(send(newsdesk, "PUT", path, data), 400)
    assert detail_fields == []
    assert "body" in message
    assert changes(app) == before


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 201),
        ("application/json; charset=utf-8", 201),
        ("application/vnd.feedsvc+json", 201),
        (None, 201),  # no Content-Type: read as JSON all the same
        ("text/plain", 415),
        ("application/xml", 415),
        ("application/json; charset=iso-8859-1", 415),
    ],
)
def test_content_type(
    app: Flask, newsdesk: FlaskClient, content_type: str | None, status: int
) -> None:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    data = json.dumps(article()).encode()
    response = newsdesk.put("/api/v1/articles/bp-1", data=data, headers=headers)
    if status == 415:
        before = changes(app)
        message, _ = error_of(response, 415)
        assert "application/json" in message or "UTF-8" in message
        assert changes(app) == before
    else:
        assert response.status_code == status, response.data


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_MAX_BODY_BYTES": str(MAX_BODY)}


def body_of_size(size: int) -> bytes:
    """A valid article serialised to exactly ``size`` bytes (padded in the summary)."""
    data = json.dumps(article(summary="")).encode()
    return json.dumps(article(summary="x" * (size - len(data)))).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_limit(app: Flask, newsdesk: FlaskClient, chunked: bool) -> None:
    def put_bytes(data: bytes) -> TestResponse:
        if not chunked:
            return send(newsdesk, "PUT", "/api/v1/articles/bp-1", data)
        # A chunked body has no Content-Length: the limit is enforced while reading.
        return newsdesk.put(
            "/api/v1/articles/bp-1",
            input_stream=io.BytesIO(data),
            headers={**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    before = changes(app)
    message, _ = error_of(put_bytes(body_of_size(MAX_BODY + 1)), 413)
    assert "FEEDSVC_MAX_BODY_BYTES" in message
    assert "send fewer or smaller records" in message  # the API's words, not the bare cap's
    assert changes(app) == before
    assert put_bytes(body_of_size(MAX_BODY)).status_code == 201


def test_get_and_delete(app: Flask, newsdesk: FlaskClient) -> None:
    path = "/api/v1/articles/bp-1"
    message, _ = error_of(newsdesk.get(path, headers=AUTH), 404)
    assert "bp-1" in message
    error_of(newsdesk.delete(path, headers=AUTH), 404)
    assert put(newsdesk, path, article()).status_code == 201
    deleted = newsdesk.delete(path, headers=AUTH)
    assert deleted.status_code == 204
    assert deleted.data == b"" and "Content-Type" not in deleted.headers
    assert deleted.headers["Cache-Control"] == "no-store"
    error_of(newsdesk.get(path, headers=AUTH), 404)
    before = changes(app)
    error_of(newsdesk.delete(path, headers=AUTH), 404)  # already deleted
    assert changes(app) == before
    again = put(newsdesk, path, article())  # the same record comes back
    assert again.status_code == 201
    assert parsed(newsdesk.get(path, headers=AUTH))["id"] == "bp-1"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(
    "url_id",
    ["bp%001", "bp%201", "a" * 201, "bp%C3%A1", "-bp"],
    ids=["NUL", "space", "long", "non-ASCII", "hyphen first"],
)
def test_impossible_id_is_404(newsdesk: FlaskClient, method: str, url_id: str) -> None:
    """Ids no article can have are unknown, on every store (never a database error)."""
    error_of(newsdesk.open(f"/api/v1/articles/{url_id}", method=method, headers=AUTH), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v1/articles/bp-1", "DELETE, GET, HEAD, PUT"),
        ("PATCH", "/api/v1/articles/bp-1", "DELETE, GET, HEAD, PUT"),
        ("OPTIONS", "/api/v1/articles/bp-1", "DELETE, GET, HEAD, PUT"),
        ("DELETE", "/api/v1/articles", "GET, HEAD, POST"),
        ("PUT", "/api/v1/articles", "GET, HEAD, POST"),
        ("POST", "/api/v1/categories/thoi-su", "DELETE, GET, HEAD, PUT"),
        ("PATCH", "/api/v1/categories/thoi-su", "DELETE, GET, HEAD, PUT"),
        ("POST", "/api/v1/categories", "GET, HEAD"),
        ("PUT", "/api/v1/openapi.json", "GET, HEAD"),
    ],
)
def test_method_not_allowed_is_405(client: FlaskClient, method: str, path: str, allow: str) -> None:
    response = client.open(path, method=method, headers=AUTH)
    message, _ = error_of(response, 405)
    assert response.headers["Allow"] == allow
    assert method in message


@pytest.mark.parametrize(
    "path", ["/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/articles/a/b", "/api/v2/articles"]
)
def test_unknown_api_route_is_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=AUTH)
    if path.startswith("/api/v1"):
        error_of(response, 404)
    else:
        assert response.status_code == 404  # outside the API: not ours to answer


# --- batches ------------------------------------------------------------------------------------


def post(client: FlaskClient, payload: object) -> TestResponse:
    return client.post("/api/v1/articles", json=payload, headers=AUTH)


def test_batch_reports_each_record_by_index(app: Flask, newsdesk: FlaskClient) -> None:
    batch = [
        article("a"),
        article("b", title=...),
        article("c", categories=["quoc-phong"]),
        "not an object",
        article("a", title="Tin a, bản sửa"),
        article("d", categories=["khong-co"]),
        {"id": 5},
    ]
    response = post(newsdesk, batch)
    assert response.status_code == 200
    body = parsed(response)
    assert body["stored"] == [
        {"index": 0, "id": "a", "status": "superseded"},
        {"index": 2, "id": "c", "status": "created"},
        {"index": 4, "id": "a", "status": "created"},
    ]
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == [1, 3, 5, 6]
    assert rejected[1]["id"] == "b"
    assert [d["field"] for d in rejected[1]["details"]] == ["title"]
    assert "id" not in rejected[3]
    assert [d["field"] for d in rejected[3]["details"]] == [""]
    assert [d["field"] for d in rejected[5]["details"]] == ["categories[0]"]
    assert "id" not in rejected[6]  # not a string id
    assert "id" in [d["field"] for d in rejected[6]["details"]]
    for reject in body["rejected"]:
        assert set(reject) <= {"index", "id", "details"}
        assert all(set(d) == {"field", "message"} for d in reject["details"])
    assert parsed(newsdesk.get("/api/v1/articles/a", headers=AUTH))["title"] == "Tin a, bản sửa"

    before = changes(app)
    again = parsed(post(newsdesk, batch))
    assert [s["status"] for s in again["stored"]] == ["superseded", "unchanged", "unchanged"]
    assert changes(app) == before


@pytest.mark.parametrize("payload", [[], [article("x", title=...)]], ids=["empty", "all rejected"])
def test_batch_is_200_even_when_nothing_is_stored(
    app: Flask, newsdesk: FlaskClient, payload: list[Any]
) -> None:
    before = changes(app)
    response = post(newsdesk, payload)
    assert response.status_code == 200
    assert parsed(response)["stored"] == []
    assert len(parsed(response)["rejected"]) == len(payload)
    assert changes(app) == before


@pytest.mark.parametrize(
    "data",
    [b'{"id": "a"}', b'"a"', b"", b"[NaN]", b'[{"id": "a", "id": "b"}]'],
    ids=["object", "string", "empty", "NaN", "duplicate key"],
)
def test_batch_unparseable_or_not_an_array_is_400(
    app: Flask, newsdesk: FlaskClient, data: bytes
) -> None:
    before = changes(app)
    error_of(send(newsdesk, "POST", "/api/v1/articles", data), 400)
    assert changes(app) == before


@pytest.fixture
def big_bodies(settings_overrides: dict[str, str]) -> None:
    """Room for 1001 records in one body."""
    settings_overrides["FEEDSVC_MAX_BODY_BYTES"] = str(1 << 20)


def test_batch_of_1000_is_stored_and_1001_is_413(
    big_bodies: None, app: Flask, newsdesk: FlaskClient
) -> None:
    records = [article(f"n{i}") for i in range(1001)]
    before = changes(app)
    message, _ = error_of(post(newsdesk, records), 413)
    assert "1000" in message
    assert changes(app) == before
    body = parsed(post(newsdesk, records[:1000]))
    assert [s["index"] for s in body["stored"]] == list(range(1000))
    assert {s["status"] for s in body["stored"]} == {"created"}
    assert changes(app)[1] == 1000


# --- the feeds ----------------------------------------------------------------------------------


def test_put_and_delete_reach_the_feeds(
    app: Flask, newsdesk: FlaskClient, clock: FrozenClock
) -> None:
    regenerate = services(app).regenerator.run
    both = article(categories=["thoi-su", "quoc-phong"])
    old = article("old", published_at="2026-11-18T08:00:00Z")
    assert put(newsdesk, "/api/v1/articles/old", old).status_code == 201
    assert put(newsdesk, "/api/v1/articles/bp-1", both).status_code == 201
    assert regenerate().ok
    for key in ("thoi-su", "quoc-phong", "all"):
        assert item_id("bp-1") in feed(newsdesk, key)[0]
    _, etag, last_modified = feed(newsdesk, "thoi-su")

    # An identical repeat changes nothing: same ETag, same Last-Modified.
    assert put(newsdesk, "/api/v1/articles/bp-1", both).status_code == 200
    assert regenerate().rendered == []
    assert feed(newsdesk, "thoi-su")[1:] == (etag, last_modified)

    clock.advance(5)
    assert newsdesk.delete("/api/v1/articles/bp-1", headers=AUTH).status_code == 204
    assert regenerate().ok
    for key in ("thoi-su", "quoc-phong", "all"):
        ids, new_etag, _ = feed(newsdesk, key)
        assert item_id("bp-1") not in ids
    assert feed(newsdesk, "thoi-su")[1:] != (etag, last_modified)
    assert item_id("old") in feed(newsdesk, "all")[0]


def test_put_is_in_the_feeds_within_a_bounded_wait(app: Flask, newsdesk: FlaskClient) -> None:
    """The real scheduler, no regenerate call: the write wakes it."""
    services(app).start_scheduler()
    started = time.monotonic()
    assert put(newsdesk, "/api/v1/articles/bp-live", article("bp-live")).status_code == 201
    seen: set[str] = set()
    while time.monotonic() - started < 5 and seen != {"thoi-su", "all"}:
        for key in ("thoi-su", "all"):
            response = newsdesk.get(f"/feeds/{key}.json")
            if response.status_code == 200 and item_id("bp-live") in response.get_data(True):
                seen.add(key)
        time.sleep(0.02)
    assert seen == {"thoi-su", "all"}, f"not in { ({'thoi-su', 'all'} - seen) } after 5 s"


# --- the database unavailable -------------------------------------------------------------------


@pytest.fixture
def app_without_database(clock: FrozenClock) -> Iterator[Flask]:
    """An app whose PostgreSQL server refuses connections (nothing listens on port 9)."""
    app = create_app(
        {
            "TESTING": True,
            "CLOCK": clock,
            "FEEDSVC_DATABASE_URL": "postgresql://feedsvc@127.0.0.1:9/feedsvc",
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_API_TOKENS": "test-token-1",
        }
    )
    yield app
    services(app).shutdown()


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("PUT", "/api/v1/categories/thoi-su", {"name": "Thời sự"}),
        ("PUT", "/api/v1/articles/bp-1", article()),
        ("GET", "/api/v1/articles/bp-1", None),
        ("DELETE", "/api/v1/articles/bp-1", None),
        ("POST", "/api/v1/articles", [article()]),
    ],
)
def test_database_unavailable_is_503(
    app_without_database: Flask, method: str, path: str, payload: object
) -> None:
    client = app_without_database.test_client()
    response = client.open(path, method=method, json=payload, headers=AUTH)
    message, _ = error_of(response, 503)
    assert message == "database unavailable, retry later"
    assert int(response.headers["Retry-After"]) > 0
