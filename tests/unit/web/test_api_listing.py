"""GET /api/v1/articles: the order (the last write, then id), cursor pages that miss nothing and
repeat nothing, the category and changed_since filters, and every refused parameter; the one API
call that takes query parameters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from feedsvc.clock import FrozenClock
from feedsvc.web import listing

from tests.helpers.app import START, TOKENS
from tests.helpers.openapi import conforming

AUTH = {"Authorization": f"Bearer {TOKENS[0]}"}
LIST = "/api/v1/articles"


def article(article_id: str, *categories: str, **fields: Any) -> dict[str, Any]:
    return {
        "url": f"https://bienphong.example/{article_id}.html",
        "title": f"Tin {article_id}",
        "categories": list(categories) or ["thoi-su"],
        "published_at": "2026-11-19T08:00:00+07:00",
        **fields,
    }


def put(client: FlaskClient, article_id: str, *categories: str, **fields: Any) -> None:
    response = client.put(
        f"/api/v1/articles/{article_id}",
        json=article(article_id, *categories, **fields),
        headers=AUTH,
    )
    assert response.status_code in (200, 201), response.data


@pytest.fixture
def desk(client: FlaskClient) -> FlaskClient:
    for slug in ("thoi-su", "kinh-te"):
        assert (
            client.put(f"/api/v1/categories/{slug}", json={"name": slug}, headers=AUTH).status_code
            == 201
        )
    return client


def page(client: FlaskClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"{LIST}?{query}" if query else LIST, headers=AUTH)
    assert response.status_code == 200, response.data
    body: dict[str, Any] = conforming(response, "ArticlePage")
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [a["id"] for a in body["articles"]]


def walk(client: FlaskClient, query: str) -> list[list[str]]:
    """Every page, following ``next`` links to the end."""
    pages = []
    body = page(client, query)
    while True:
        pages.append(ids(body))
        if body["next"] is None:
            assert body["next_cursor"] is None
            return pages
        url = urlsplit(body["next"])
        assert f"{url.scheme}://{url.netloc}" == "http://feeds.test"  # FEEDSVC_BASE_URL
        assert parse_qs(url.query)["cursor"] == [body["next_cursor"]]
        body = page(client, url.query)


def test_empty(client: FlaskClient) -> None:
    assert page(client) == {"articles": [], "next_cursor": None, "next": None}


def test_articles_as_accepted_in_the_order_they_changed(
    desk: FlaskClient, clock: FrozenClock
) -> None:
    for article_id in ("c", "a", "b"):
        put(desk, article_id)
        clock.advance(1)
    body = page(desk)
    assert ids(body) == ["c", "a", "b"]
    stored = desk.get("/api/v1/articles/a", headers=AUTH)
    assert body["articles"][1] == json.loads(stored.data)  # the article as accepted
    put(desk, "c")  # an identical repeat changes nothing, so it does not move
    assert ids(page(desk)) == ["c", "a", "b"]
    put(desk, "c", title="Tin c, bản sửa")  # a replacement moves it to the end
    assert ids(page(desk)) == ["a", "b", "c"]
    assert desk.delete("/api/v1/articles/a", headers=AUTH).status_code == 204
    assert ids(page(desk)) == ["b", "c"]  # deleted articles are not listed
    assert desk.head(LIST, headers=AUTH).status_code == 200


def test_same_instant_is_ordered_by_id(desk: FlaskClient) -> None:
    batch = [{"id": f"bp-{n}", **article(f"bp-{n}")} for n in (3, 1, 2, 10)]
    assert desk.post(LIST, json=batch, headers=AUTH).status_code == 200
    assert walk(desk, "limit=1") == [["bp-1"], ["bp-10"], ["bp-2"], ["bp-3"]]


@pytest.mark.parametrize(("count", "limit"), [(5, 2), (4, 2), (1, 1), (3, 1000)])
def test_pages_cover_everything_once(
    desk: FlaskClient, clock: FrozenClock, count: int, limit: int
) -> None:
    for n in range(count):
        put(desk, f"bp-{n}")
        clock.advance(0.000001)  # a microsecond apart: the cursor keeps every digit
    pages = walk(desk, f"limit={limit}")
    assert [i for p in pages for i in p] == [f"bp-{n}" for n in range(count)]
    assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit
    # A full last page says so: no empty page after it.
    assert len(pages) == -(-count // limit)


def test_default_limit(desk: FlaskClient) -> None:
    batch = [
        {"id": f"bp-{n:03}", **article(f"bp-{n:03}")} for n in range(listing.DEFAULT_LIMIT + 1)
    ]
    assert desk.post(LIST, json=batch, headers=AUTH).status_code == 200
    first = page(desk)
    assert len(first["articles"]) == listing.DEFAULT_LIMIT and first["next"] is not None
    assert "limit" not in parse_qs(urlsplit(first["next"]).query)


def test_a_change_while_paging_is_seen_again_not_missed(
    desk: FlaskClient, clock: FrozenClock
) -> None:
    for n in range(4):
        put(desk, f"bp-{n}")
        clock.advance(1)
    first = page(desk, "limit=2")
    assert ids(first) == ["bp-0", "bp-1"]
    put(desk, "bp-0", title="Tin bp-0, bản sửa")  # already listed: it comes again at the end
    put(desk, "bp-3", title="Tin bp-3, bản sửa")  # not listed yet: it comes once, at the end
    second = page(desk, urlsplit(first["next"]).query)
    assert ids(second) == ["bp-2", "bp-0"]
    third = page(desk, urlsplit(second["next"]).query)
    assert ids(third) == ["bp-3"] and third["next"] is None


def test_category_filter(desk: FlaskClient, clock: FrozenClock) -> None:
    put(desk, "a", "thoi-su")
    put(desk, "b", "kinh-te")
    put(desk, "c", "kinh-te", "thoi-su")
    put(desk, "d", "kinh-te")
    assert desk.delete("/api/v1/articles/d", headers=AUTH).status_code == 204
    assert ids(page(desk, "category=kinh-te")) == ["b", "c"]
    assert ids(page(desk, "category=thoi-su")) == ["a", "c"]
    assert ids(page(desk, "category=all")) == ["a", "b", "c"]
    assert walk(desk, "category=kinh-te&limit=1") == [["b"], ["c"]]
    nxt = page(desk, "category=kinh-te&limit=1")["next"]
    assert parse_qs(urlsplit(nxt).query)["category"] == ["kinh-te"]
    message = error(desk.get(f"{LIST}?category=the-thao", headers=AUTH), 404)
    assert "no category 'the-thao'" in message


def test_changed_since(desk: FlaskClient, clock: FrozenClock) -> None:
    put(desk, "a")  # START: 03:00:00Z, 10:00 in Hà Nội
    clock.advance(60)
    put(desk, "b")  # 03:01:00Z
    clock.advance(60)
    put(desk, "c")  # 03:02:00Z
    assert ids(page(desk, "changed_since=2026-11-20T03:01:00Z")) == ["b", "c"]  # at or after
    assert ids(page(desk, "changed_since=2026-11-20T03:01:00.000001Z")) == ["c"]
    assert ids(page(desk, "changed_since=2026-11-20T10:01:00%2B07:00")) == ["b", "c"]
    assert ids(page(desk, "changed_since=2026-11-20T10:01")) == ["b", "c"]  # FEEDSVC_TIMEZONE
    assert ids(page(desk, "changed_since=2026-11-21T00:00Z")) == []
    both = page(desk, "changed_since=2026-11-20T03:01Z&limit=1")
    assert ids(both) == ["b"]
    query = parse_qs(urlsplit(both["next"]).query)
    assert query["changed_since"] == ["2026-11-20T03:01Z"] and query["limit"] == ["1"]
    assert ids(page(desk, urlsplit(both["next"]).query)) == ["c"]


def error(response: TestResponse, status: int) -> str:
    assert response.status_code == status, response.data
    return str(conforming(response, "Error")["error"])


def details(response: TestResponse) -> dict[str, str]:
    assert response.status_code == 400, response.data
    body = conforming(response, "Error")
    assert "see details" in body["error"]
    return {d["field"]: d["message"] for d in body["details"]}


def other_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("sort=id", "sort", "no parameter 'sort': use category, changed_since, cursor, limit"),
        ("limit=5&limit=6", "limit", "more than once"),
        ("limit=", "limit", "is empty"),
        ("category", "category", "is empty"),
        ("limit=0", "limit", "from 1 to 1000"),
        ("limit=1001", "limit", "from 1 to 1000"),
        ("limit=05", "limit", "from 1 to 1000"),
        ("limit=-1", "limit", "from 1 to 1000"),
        ("limit=" + "9" * 5000, "limit", "from 1 to 1000"),
        ("category=Thoi%20Su", "category", "a category's slug"),
        ("category=thoi%00su", "category", "a category's slug"),
        ("changed_since=2026-11-20", "changed_since", "a date alone"),
        ("changed_since=h%C3%B4m-qua", "changed_since", "ISO 8601"),
        ("changed_since=2026-11-20T10:00:00+07:00", "changed_since", "%2B07:00"),
        ("changed_since=1969-12-31T00:00Z", "changed_since", "1970"),
        ("cursor=abc!", "cursor", "not a cursor this service gave out"),
        ("cursor=" + other_cursor('["2026-11-20T03:00:00", "a"]'), "cursor", "gave out"),
        ("cursor=" + other_cursor('["2026-11-20T03:00:00+07:00", "a"]'), "cursor", "gave out"),
        ("cursor=" + other_cursor('["2026-11-20T03:00:00+00:00", "-a"]'), "cursor", "gave out"),
        ("cursor=" + other_cursor('{"a": 1, "b": 2}'), "cursor", "gave out"),
        ("cursor=" + other_cursor("[1, 2]"), "cursor", "gave out"),
        ("cursor=" + "A" * 401, "cursor", "gave out"),
        ("cursor=%FF%FE", "cursor", "gave out"),
    ],
)
def test_bad_parameters_are_400(desk: FlaskClient, query: str, field: str, words: str) -> None:
    found = details(desk.get(f"{LIST}?{query}", headers=AUTH))
    assert words in found[field], found


def test_every_bad_parameter_is_named(desk: FlaskClient) -> None:
    found = details(desk.get(f"{LIST}?limit=0&cursor=x!&category=A", headers=AUTH))
    assert set(found) == {"limit", "cursor", "category"}


def test_tokens_in_the_query_are_still_refused(desk: FlaskClient) -> None:
    response = desk.get(f"{LIST}?access_token={TOKENS[0]}")
    assert "token in the URL is refused" in error(response, 401)
    response = desk.get(f"{LIST}?limit=1&token={TOKENS[0]}", headers=AUTH)
    assert response.headers["WWW-Authenticate"].endswith('error="invalid_request"')
    error(response, 400)
    assert "bearer token" in error(desk.get(f"{LIST}?limit=1"), 401)


def test_other_calls_still_refuse_a_query(desk: FlaskClient) -> None:
    put(desk, "a")
    for method, path in [
        ("GET", "/api/v1/articles/a"),
        ("DELETE", "/api/v1/articles/a"),
        ("POST", LIST),
        ("GET", "/api/v1/categories"),
    ]:
        response = desk.open(f"{path}?limit=1", method=method, headers=AUTH, json=[])
        assert "takes no query parameters" in error(response, 400)


def test_cursor_round_trip() -> None:
    position = (datetime(2026, 11, 20, 3, 0, 0, 123456, tzinfo=UTC), "bp:1.x_y-z")
    cursor = listing.encode_cursor(position)
    assert listing.decode_cursor(cursor) == position
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert listing.decode_cursor(cursor[:-2]) is None


def test_cursor_of_a_start_page(desk: FlaskClient) -> None:
    """A cursor is a position: a client that kept one sees what changed after it."""
    put(desk, "a")
    cursor = listing.encode_cursor((START, "a"))
    assert ids(page(desk, f"cursor={cursor}")) == []
    put(desk, "b")
    assert ids(page(desk, f"cursor={cursor}")) == ["b"]
