"""Issue 13, finding 11: the HTML pages had no Content-Security-Policy, no frame-ancestors or
X-Frame-Options, no Referrer-Policy. Every HTML page now carries a policy that runs no script at
all, takes styles from the service only and images from the service and the hosts of the photos
that very page shows, refuses every frame, and sends no Referer; feeds are unchanged."""

from __future__ import annotations

from flask import Flask
from werkzeug.test import TestResponse

from tests.helpers.app import NEWSROOM, another_worker, article, load, services

BASE = "http://feeds.test"  # the conftest app's FEEDSVC_BASE_URL


def photo(host: str, name: str) -> dict[str, str]:
    return {"url": f"https://{host}/{name}.jpg", "caption": f"Ảnh {name}"}


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        found[name] = sources
    return found


def assert_protected(response: TestResponse, images: set[str]) -> None:
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert not [name for name in policy if name.startswith("script")], policy  # no script at all
    assert policy["style-src"] == [BASE]
    assert set(policy["img-src"]) == {BASE, *images}, policy["img-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_are_protected_and_name_their_own_photo_hosts(app: Flask) -> None:
    load(
        app,
        NEWSROOM,
        [
            article("p1", "thoi-su", image=photo("anh.bienphong.example", "p1")),
            article("p2", "kinh-te", image=photo("cdn.other.example", "p2")),
            article("p3", "thoi-su", image=photo("anh.bienphong.example", "p3")),
            article("p4", "quoc-phong-an-ninh"),
        ],
    )
    assert services(app).regenerator.run().ok
    worker = another_worker(app)  # loads the snapshots from their stored bundles
    try:
        for client in (app.test_client(), worker.test_client()):
            for encoding in ("identity", "gzip"):
                headers = {"Accept-Encoding": encoding}
                pages = {
                    "/": set(),
                    "/feeds/thoi-su.html": {"https://anh.bienphong.example"},
                    "/feeds/kinh-te.html": {"https://cdn.other.example"},
                    "/feeds/quoc-phong-an-ninh.html": set(),
                    "/feeds/all.html": {
                        "https://anh.bienphong.example",
                        "https://cdn.other.example",
                    },
                }
                for path, hosts in pages.items():
                    assert_protected(client.get(path, headers=headers), hosts)
                for fmt in ("rss", "atom", "json"):
                    feed = client.get(f"/feeds/thoi-su.{fmt}", headers=headers)
                    assert feed.status_code == 200
                    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
                        assert name not in feed.headers, (fmt, name)
    finally:
        services(worker).shutdown()


def test_any_html_flask_sends_is_protected(newsroom: Flask) -> None:
    newsroom.add_url_rule("/help", "help", lambda: "<p>help</p>")
    assert_protected(newsroom.test_client().get("/help"), set())
