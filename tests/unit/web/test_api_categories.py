"""The ingest API's categories: list, read, delete (409 while articles are in one), and what a
deletion takes with it: the feeds (404 in every worker), their snapshots, change tracking and
WebSub subscriptions; every answer checked against the OpenAPI document's schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedsvc import store
from feedsvc.clock import FrozenClock
from feedsvc.store.models import FeedSnapshot, FeedState, WebSubDelivery, WebSubSubscription
from feedsvc.websub import store as hub_store

from tests.helpers.app import TOKENS, another_worker, services
from tests.helpers.openapi import conforming

AUTH = {"Authorization": f"Bearer {TOKENS[0]}"}


def put(client: FlaskClient, path: str, payload: object, **headers: str) -> TestResponse:
    return client.put(path, json=payload, headers={**AUTH, **headers})


def article(article_id: str, *categories: str, **fields: Any) -> dict[str, Any]:
    return {
        "url": f"https://bienphong.example/{article_id}.html",
        "title": f"Tin {article_id}",
        "categories": list(categories),
        "published_at": "2026-11-19T08:00:00+07:00",
        **fields,
    }


@pytest.fixture
def desk(app: Flask, client: FlaskClient) -> FlaskClient:
    """Three categories created through the API."""
    for slug, name in [
        ("thoi-su", "Thời sự"),
        ("quoc-phong", "Quốc phòng"),
        ("kinh-te", "Kinh tế"),
    ]:
        assert put(client, f"/api/v1/categories/{slug}", {"name": name}).status_code == 201
    return client


def error(response: TestResponse, status: int) -> str:
    assert response.status_code == status, response.data
    return str(conforming(response, "Error")["error"])


# --- list and read ------------------------------------------------------------------------------


def test_list_is_empty_then_every_category_by_slug(client: FlaskClient) -> None:
    assert conforming(client.get("/api/v1/categories", headers=AUTH), "CategoryList") == {
        "categories": []
    }
    for slug in ["quoc-phong", "bien-gioi", "thoi-su"]:
        put(client, f"/api/v1/categories/{slug}", {"name": slug.upper(), "description": "Mô tả"})
    listed = conforming(client.get("/api/v1/categories", headers=AUTH), "CategoryList")
    assert [c["slug"] for c in listed["categories"]] == ["bien-gioi", "quoc-phong", "thoi-su"]
    assert listed["categories"][0] == {
        "slug": "bien-gioi",
        "name": "BIEN-GIOI",
        "description": "Mô tả",
    }


def test_read_one_as_accepted(desk: FlaskClient) -> None:
    put(desk, "/api/v1/categories/bien-gioi", {"name": "  Biên   giới ", "description": "\n"})
    response = desk.get("/api/v1/categories/bien-gioi", headers=AUTH)
    assert response.status_code == 200
    assert conforming(response, "Category") == {"slug": "bien-gioi", "name": "Biên giới"}
    assert desk.head("/api/v1/categories/bien-gioi", headers=AUTH).status_code == 200


@pytest.mark.parametrize("slug", ["the-thao", "Thoi-Su", "thoi%00su", "x" * 65, "thoi%01su"])
def test_read_unknown_is_404(desk: FlaskClient, slug: str) -> None:
    assert "no category" in error(desk.get(f"/api/v1/categories/{slug}", headers=AUTH), 404)


def test_all_is_not_a_category(desk: FlaskClient) -> None:
    for method in ("GET", "DELETE"):
        response = desk.open("/api/v1/categories/all", method=method, headers=AUTH)
        assert "'all' is not a category" in error(response, 404)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_calls_need_a_token_and_take_no_query(desk: FlaskClient, method: str) -> None:
    for path in ("/api/v1/categories", "/api/v1/categories/thoi-su"):
        if method == "DELETE" and path == "/api/v1/categories":
            continue
        response = desk.open(path, method=method)
        assert "bearer token" in error(response, 401)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="feedsvc"'
        assert "no query parameters" in error(
            desk.open(f"{path}?x=1", method=method, headers=AUTH), 400
        )
    assert (
        desk.get("/api/v1/categories/thoi-su", headers=AUTH).status_code == 200
    )  # nothing deleted


# --- delete -------------------------------------------------------------------------------------


def feed_rows(app: Flask, key: str) -> tuple[bool, bool]:
    """Whether feed ``key`` has a snapshot row and a change-tracking row."""
    with services(app).db.reading() as session:
        snapshot = session.get(FeedSnapshot, key) is not None
        state = session.get(FeedState, key) is not None
    return snapshot, state


def test_delete_an_empty_category_and_its_feeds(app: Flask, desk: FlaskClient) -> None:
    put(desk, "/api/v1/articles/bp-1", article("bp-1", "thoi-su"))
    assert services(app).regenerator.run().ok
    other = another_worker(app)  # a second worker, its snapshots loaded
    services(other).registry.refresh(services(other).db)
    for client in (desk, other.test_client()):
        assert client.get("/feeds/kinh-te.rss").status_code == 200
    assert feed_rows(app, "kinh-te") == (True, True)
    counter = _counter(app, "snapshots")

    deleted = desk.delete("/api/v1/categories/kinh-te", headers=AUTH)
    assert deleted.status_code == 204 and deleted.data == b""
    assert "Content-Type" not in deleted.headers and deleted.headers["Cache-Control"] == "no-store"

    assert desk.get("/feeds/kinh-te.rss").status_code == 404  # this worker: at once
    assert _counter(app, "snapshots") > counter  # the others are told
    services(other).registry.poll(services(other).db)
    for fmt in ("rss", "atom", "json", "html"):
        assert other.test_client().get(f"/feeds/kinh-te.{fmt}").status_code == 404
    assert other.test_client().get("/feeds/thoi-su.rss").status_code == 200
    assert feed_rows(app, "kinh-te") == (False, False)
    error(desk.get("/api/v1/categories/kinh-te", headers=AUTH), 404)
    error(desk.delete("/api/v1/categories/kinh-te", headers=AUTH), 404)  # already gone
    listed = conforming(desk.get("/api/v1/categories", headers=AUTH), "CategoryList")
    assert [c["slug"] for c in listed["categories"]] == ["quoc-phong", "thoi-su"]
    assert "kinh-te" not in desk.get("/feeds.opml").get_data(as_text=True)
    # A regeneration brings nothing back, and the category can be created again.
    assert services(app).regenerator.run(force=True).ok
    assert feed_rows(app, "kinh-te") == (False, False)
    assert put(desk, "/api/v1/categories/kinh-te", {"name": "Kinh tế"}).status_code == 201
    assert services(app).regenerator.run().ok
    assert desk.get("/feeds/kinh-te.rss").status_code == 200
    services(other).shutdown()


def _counter(app: Flask, name: str) -> int:
    with services(app).db.reading() as session:
        return store.read_counter(session, name)


def test_a_category_with_articles_is_409(app: Flask, desk: FlaskClient, clock: FrozenClock) -> None:
    put(desk, "/api/v1/articles/bp-1", article("bp-1", "thoi-su", "kinh-te"))
    put(desk, "/api/v1/articles/bp-2", article("bp-2", "kinh-te"))
    # An embargoed article is stored in the category too.
    put(desk, "/api/v1/articles/bp-3", article("bp-3", "kinh-te", published_at="2099-01-01T00:00Z"))
    before = _counter(app, "changes")
    message = error(desk.delete("/api/v1/categories/kinh-te", headers=AUTH), 409)
    assert "still has 3 articles" in message
    assert "move them" in message and "delete them" in message
    assert "GET /api/v1/articles?category=kinh-te" in message
    assert _counter(app, "changes") == before
    assert desk.get("/api/v1/categories/kinh-te", headers=AUTH).status_code == 200

    # Moved or deleted, they no longer hold it.
    put(desk, "/api/v1/articles/bp-1", article("bp-1", "thoi-su"))
    assert desk.delete("/api/v1/articles/bp-2", headers=AUTH).status_code == 204
    message = error(desk.delete("/api/v1/categories/kinh-te", headers=AUTH), 409)
    assert "still has 1 article: move it" in message and "lists it" in message
    assert desk.delete("/api/v1/articles/bp-3", headers=AUTH).status_code == 204
    assert desk.delete("/api/v1/categories/kinh-te", headers=AUTH).status_code == 204

    # A deleted article that named it comes back only with categories that exist.
    revived = put(desk, "/api/v1/articles/bp-2", article("bp-2", "kinh-te"))
    assert revived.status_code == 422
    assert json.loads(revived.data)["details"][0]["field"] == "categories[0]"
    assert put(desk, "/api/v1/articles/bp-2", article("bp-2", "quoc-phong")).status_code == 201


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self"}


def test_delete_ends_the_websub_subscriptions_to_its_feeds(
    app: Flask, desk: FlaskClient, clock: FrozenClock
) -> None:
    topics = {slug: f"http://feeds.test/feeds/{slug}.rss" for slug in ("kinh-te", "thoi-su")}
    for topic in topics.values():
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": "https://bot.example/cb",
        }
        assert desk.post("/websub", data=form).status_code == 202
    with services(app).db.writing() as session:
        sub = hub_store.get_subscription(session, topics["kinh-te"], "https://bot.example/cb")
        assert sub is not None
        now = clock.now()
        session.add(
            WebSubDelivery(
                subscription_id=sub.id, version=1, attempts=0, next_attempt_at=now, enqueued_at=now
            )
        )
    assert desk.delete("/api/v1/categories/kinh-te", headers=AUTH).status_code == 204
    with services(app).db.reading() as session:
        feeds = set(session.scalars(select(WebSubSubscription.feed_key)))
        deliveries = list(session.scalars(select(WebSubDelivery.subscription_id)))
    assert feeds == {"thoi-su"} and deliveries == []


def test_the_index_and_opml_change_their_validators(
    app: Flask, desk: FlaskClient, clock: FrozenClock
) -> None:
    """The pages list the categories: a deletion moves their Last-Modified, so a cache holding
    the old list does not get a 304 for it."""
    first = desk.get("/")
    clock.advance(5)
    assert desk.delete("/api/v1/categories/kinh-te", headers=AUTH).status_code == 204
    for path in ("/", "/feeds.opml"):
        since = desk.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 200
        assert "kinh-te" not in since.get_data(as_text=True)
    assert desk.get("/").headers["ETag"] != first.headers["ETag"]


def test_delete_takes_no_condition(desk: FlaskClient) -> None:
    response = desk.delete("/api/v1/categories/kinh-te", headers={**AUTH, "If-Match": "*"})
    assert "no If-Match" in error(response, 400)
    assert desk.get("/api/v1/categories/kinh-te", headers=AUTH).status_code == 200
