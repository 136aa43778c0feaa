"""The built-in WebSub hub (W3C WebSub): requests to /websub, its settings, the durable delivery
queue, and telling an external hub. The whole flow over real sockets is in
tests/system/test_websub_delivery.py."""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from flask import Flask
from flask.testing import FlaskClient
from requests.utils import parse_header_links

from feedsvc import create_app
from feedsvc.clock import FrozenClock
from feedsvc.config import ConfigError, load_settings
from feedsvc.store.models import WebSubSubscription
from feedsvc.websub import store as hub_store
from feedsvc.websub.hub import decode_unreserved, grant_lease, retry_delay, verification_url

from tests.helpers.app import article, category, load, services
from tests.helpers.cdn import FakeAPI, Reply
from tests.helpers.servers import QuietHandler

FORM_TYPE = "application/x-www-form-urlencoded"
WAIT = 10.0  # the bound on every wait for something the hub does

# --- requests to /websub (no sockets) ------------------------------------------------------------

BASE = "http://feeds.test"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self", "FEEDSVC_WEBSUB_MAX_LEASE_SECONDS": "86400"}


def form(**fields: str) -> dict[str, str]:
    data = {
        "hub.mode": "subscribe",
        "hub.topic": f"{BASE}/feeds/thoi-su.rss",
        "hub.callback": "https://bot.example/cb/7f3a",
    }
    data.update({k.replace("_", ".", 1): v for k, v in fields.items()})
    return {k: v for k, v in data.items() if v != "-"}


BAD_REQUESTS = [
    (form(hub_mode="-"), "hub.mode is missing"),
    (form(hub_mode="publish"), "takes no 'publish'"),
    (form(hub_mode="SUBSCRIBE"), "'subscribe' or 'unsubscribe'"),
    (form(hub_topic="-"), "hub.topic is missing"),
    (form(hub_topic="https://other.example/feeds/thoi-su.rss"), "a feed of this service"),
    (form(hub_topic=f"{BASE}/feeds/thoi-su.html"), "exactly a feed's self URL"),
    (form(hub_topic=f"{BASE}/feeds/thoi-su.rss?limit=5"), "no query"),
    (form(hub_topic=f"{BASE}/feeds/thoi-su.rss/"), "exactly a feed's self URL"),
    (form(hub_topic=f"{BASE}/feeds/Thoi-Su.rss"), "exactly a feed's self URL"),
    (form(hub_topic=f"{BASE}/feeds.opml"), "exactly a feed's self URL"),
    (form(hub_topic=f"{BASE}/feeds/the-thao.json"), "no such category"),
    (form(hub_callback="-"), "hub.callback is missing"),
    (form(hub_callback="ftp://bot.example/cb"), "http:// or https://"),
    (form(hub_callback="https://u:p@bot.example/cb"), "user:password@"),
    (form(hub_callback="https://bot.example/cb#x"), "#fragment"),
    (form(hub_lease_seconds="0"), "positive whole number"),
    (form(hub_lease_seconds="-5"), "positive whole number"),
    (form(hub_lease_seconds="1e3"), "positive whole number"),
    (form(hub_secret="s" * 200), "less than 200 bytes"),
    (form(hub_secret="ớ" * 67), "less than 200 bytes"),  # 67 × 3 bytes in UTF-8
]


@pytest.mark.parametrize(("data", "message"), BAD_REQUESTS)
def test_bad_requests_get_400_with_the_reason(
    newsroom: Flask, data: dict[str, str], message: str
) -> None:
    response = newsroom.test_client().post("/websub", data=data)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert message in response.get_data(as_text=True)


def test_repeated_parameter_is_refused(newsroom: Flask) -> None:
    body = "hub.mode=subscribe&hub.topic=T&hub.topic=T&hub.callback=https://bot.example/cb"
    body = body.replace("T", f"{BASE}/feeds/all.rss")
    response = newsroom.test_client().post(
        "/websub", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and "given 2 times" in response.get_data(as_text=True)


def test_only_form_posts(client: FlaskClient) -> None:
    as_json = client.post("/websub", json=form())
    assert as_json.status_code == 400 and "x-www-form-urlencoded" in as_json.get_data(as_text=True)
    get = client.get("/websub")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("fields", "lease", "secret"),
    [
        ({}, 86400, None),  # no lease asked: the default, capped by the maximum
        ({"hub_lease_seconds": "600", "hub_secret": "k" * 199}, 600, "k" * 199),
        ({"hub_lease_seconds": "999999999"}, 86400, None),
        ({"hub_topic": f"{BASE}/feeds/thoi%2Dsu%2erss"}, 86400, None),  # §5.1.1 decoding
        ({"hub_topic": f"{BASE}/feeds/all.json", "hub_extra": "ignored"}, 86400, None),
    ],
)
def test_valid_request_is_accepted_and_waits_for_verification(
    newsroom: Flask, fields: dict[str, str], lease: int, secret: str | None
) -> None:
    data = form(**fields)
    response = newsroom.test_client().post("/websub", data=data)
    assert response.status_code == 202, response.get_data(as_text=True)
    topic = decode_unreserved(data["hub.topic"])
    with services(newsroom).db.reading() as session:
        row = hub_store.get_subscription(session, topic, data["hub.callback"])
    assert row is not None and row.expires_at is None  # not active before verification
    assert (row.pending_mode, row.pending_lease, row.pending_secret) == ("subscribe", lease, secret)


def test_unsubscribing_an_unknown_subscription_is_accepted(newsroom: Flask) -> None:
    response = newsroom.test_client().post("/websub", data=form(hub_mode="unsubscribe"))
    assert response.status_code == 202


def test_no_hub_endpoint_without_the_setting(database_url: str) -> None:
    app = create_app({"FEEDSVC_DATABASE_URL": database_url, "FEEDSVC_SCHEDULER": "off"})
    try:
        assert app.test_client().post("/websub", data=form()).status_code == 404
    finally:
        services(app).shutdown()


def test_hub_settings_defaults_and_types() -> None:
    s = load_settings(
        {"FEEDSVC_WEBSUB_BACKOFF_SECONDS": "0.25", "FEEDSVC_WEBSUB_MAX_ATTEMPTS": "4"}
    )
    assert (s.websub_lease_seconds, s.websub_max_lease_seconds) == (864000, 2592000)
    assert (s.websub_max_attempts, s.websub_backoff_seconds) == (4, 0.25)
    assert s.websub_timeout_seconds == 10.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FEEDSVC_WEBSUB_LEASE_SECONDS", "0"),
        ("FEEDSVC_WEBSUB_LEASE_SECONDS", "10 days"),
        ("FEEDSVC_WEBSUB_MAX_LEASE_SECONDS", "99999999999"),
        ("FEEDSVC_WEBSUB_MAX_ATTEMPTS", "0"),
        ("FEEDSVC_WEBSUB_BACKOFF_SECONDS", "-1"),
        ("FEEDSVC_WEBSUB_BACKOFF_SECONDS", "1e3"),
        ("FEEDSVC_WEBSUB_TIMEOUT_SECONDS", "0"),
        ("FEEDSVC_WEBSUB_TIMEOUT_SECONDS", "fast"),
    ],
)
def test_bad_hub_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, 864000), (60, 60), (1, 1), (10**9, 2592000)]
)
def test_granted_lease(requested: int | None, expected: int) -> None:
    assert grant_lease(requested, load_settings({})) == expected


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        ("https://b.example/cb", "https://b.example/cb?hub.mode=subscribe&hub.challenge=c%2B1"),
        ("https://b.example/cb?id=7", "https://b.example/cb?id=7&hub.mode=subscribe&hub.challenge=c%2B1"),
        ("https://b.example/cb?", "https://b.example/cb?hub.mode=subscribe&hub.challenge=c%2B1"),
    ],
)  # fmt: skip
def test_verification_keeps_the_callback_query(callback: str, expected: str) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "c+1"}
    assert verification_url(callback, params) == expected


@pytest.mark.parametrize(
    ("failures", "delay"), [(1, 15.0), (2, 30.0), (3, 60.0), (8, 1920.0), (9, 3600.0)]
)
def test_backoff_doubles_up_to_an_hour(failures: int, delay: float) -> None:
    assert retry_delay(failures, 15.0) == delay


# --- the queue (database only, frozen clock) -----------------------------------------------------


def _active(app: Flask, clock: FrozenClock, callback: str, lease: int = 600) -> WebSubSubscription:
    """A subscription made active through the same store calls the worker uses."""
    db = services(app).db
    topic = f"{BASE}/feeds/thoi-su.json"
    intent = hub_store.Intent("subscribe", topic, "thoi-su", "json", callback, "k", lease)
    now = clock.now()
    with db.writing() as session:
        hub_store.record_intent(session, intent, now)
        (job,) = hub_store.claim_verifications(session, now, now + timedelta(seconds=30), 10)
        assert hub_store.activate(session, job, now + timedelta(seconds=lease), lease, now)
    with db.reading() as session:
        row = hub_store.get_subscription(session, topic, callback)
    assert row is not None
    return row


def test_changes_waiting_for_a_subscriber_collapse_into_one_row(
    newsroom: Flask, clock: FrozenClock
) -> None:
    db = services(newsroom).db
    a = _active(newsroom, clock, "https://a.example/cb")
    b = _active(newsroom, clock, "https://b.example/cb", lease=5)
    clock.advance(10)  # b's lease has run out
    now = clock.now()
    with db.writing() as session:
        hub_store.enqueue(session, "thoi-su", 7, now)
        hub_store.enqueue(session, "thoi-su", 9, now)
        hub_store.enqueue(session, "thoi-su", 8, now)  # an older render never goes back
        hub_store.enqueue(session, "kinh-te", 3, now)  # no subscriber
    with db.reading() as session:
        row = hub_store.get_delivery(session, a.id)
        assert row is not None and (row.version, row.attempts) == (9, 0)
        assert hub_store.get_delivery(session, b.id) is None
    with db.writing() as session:
        (job,) = hub_store.claim_deliveries(session, now, now + timedelta(seconds=30), 10)
        assert hub_store.claim_deliveries(session, now, now + timedelta(seconds=30), 10) == []
        hub_store.enqueue(session, "thoi-su", 10, now)  # changed while being delivered
        hub_store.delivered(session, job, 9, now)
    with db.reading() as session:
        row = hub_store.get_delivery(session, a.id)
        assert row is not None and row.version == 10 and row.claimed_until is None
    with db.writing() as session:
        (job,) = hub_store.claim_deliveries(session, now, now + timedelta(seconds=30), 10)
        hub_store.delivered(session, job, 10, now)
    with db.reading() as session:
        assert hub_store.get_delivery(session, a.id) is None


# --- an external hub (FEEDSVC_WEBSUB_HUB=<URL>) ------------------------------------------------


class ExternalHub(QuietHandler):
    """A hub that records publish notifications; answers ``status`` (or hangs on ``hang``)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        server: Any = self.server
        if server.hang is not None:
            server.hang.wait(10)
        with server.changed:
            server.notified.append((self.headers["Content-Type"], parse_qs(body)))
            server.changed.notify_all()
        self.reply(server.status)


@pytest.fixture
def external_hub() -> Iterator[Any]:
    hub: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ExternalHub)
    hub.daemon_threads = True
    hub.notified, hub.status, hub.hang = [], 204, None
    hub.changed = threading.Condition()
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    yield hub
    if hub.hang is not None:
        hub.hang.set()
    hub.shutdown()
    hub.server_close()


def _app_with_hub(database_url: str, hub_url: str) -> Flask:
    app = create_app(
        {
            "FEEDSVC_DATABASE_URL": database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": BASE,
            "FEEDSVC_WEBSUB_HUB": hub_url,
            "FEEDSVC_WEBSUB_TIMEOUT_SECONDS": "2",
        }
    )
    load(app, [category("thoi-su", "Thời sự")], [article("e1", "thoi-su")])
    return app


def test_external_hub_is_told_about_every_changed_feed_url(
    database_url: str, external_hub: Any
) -> None:
    hub_url = f"http://127.0.0.1:{external_hub.server_port}/hub"
    app = _app_with_hub(database_url, hub_url)
    try:
        assert app.test_client().post("/websub").status_code == 404  # no built-in hub
        assert services(app).regenerator.run().rendered == ["all", "thoi-su"]
        with external_hub.changed:
            assert external_hub.changed.wait_for(lambda: len(external_hub.notified) == 6, WAIT)
        assert {ctype for ctype, _ in external_hub.notified} == {FORM_TYPE}
        assert all(form["hub.mode"] == ["publish"] for _, form in external_hub.notified)
        urls = sorted(form["hub.url"][0] for _, form in external_hub.notified)
        assert urls == sorted(
            f"{BASE}/feeds/{k}.{f}" for k in ("all", "thoi-su") for f in ("rss", "atom", "json")
        )
        feed = app.test_client().get("/feeds/thoi-su.atom")
        (links,) = feed.headers.getlist("Link")  # one field, both links (issue 14)
        assert {"url": hub_url, "rel": "hub"} in parse_header_links(links)
    finally:
        services(app).shutdown()


def test_a_failing_or_hanging_external_hub_is_logged_and_never_waited_for(
    database_url: str, external_hub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    external_hub.status = 503
    external_hub.hang = threading.Event()
    app = _app_with_hub(database_url, f"http://127.0.0.1:{external_hub.server_port}/hub")
    try:
        with caplog.at_level(logging.WARNING, logger="feedsvc.websub"):
            started = time.monotonic()
            assert services(app).regenerator.run().ok
            assert time.monotonic() - started < 1.5  # the hub hangs: nobody waits for it
            external_hub.hang.set()
            deadline = time.monotonic() + WAIT
            while "answered 503" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
        assert "answered 503 to the publish of http://feeds.test/feeds/" in caplog.text
    finally:
        services(app).shutdown()


def test_with_a_purged_cache_the_external_hub_is_told_after_the_purge(
    database_url: str, external_hub: Any
) -> None:
    """The hub fetches the feed when told: through a cache, that must be the new version."""
    cache = FakeAPI(script=[Reply(200, b"Invalidated 4 objects", delay=0.5)]).start()
    app = create_app(
        {
            "FEEDSVC_DATABASE_URL": database_url,
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_BASE_URL": BASE,
            "FEEDSVC_WEBSUB_HUB": f"http://127.0.0.1:{external_hub.server_port}/hub",
            "FEEDSVC_PURGE_VARNISH": cache.url,
        }
    )
    try:
        load(app, [category("thoi-su", "Thời sự")], [article("e1", "thoi-su")])
        services(app).regenerator.run()
        ran = time.monotonic()
        with external_hub.changed:
            assert external_hub.changed.wait_for(lambda: len(external_hub.notified) >= 1, WAIT)
        assert time.monotonic() - ran >= 0.4  # the purge took 0.5 s; the hub heard after it
        assert cache.received and cache.received[0].method == "PURGE"
    finally:
        services(app).shutdown()
        cache.close()
