"""One version at a time, over real sockets (issue 14, problems 1 and 2): ``make serve`` with
three web workers on 127.0.0.1.

- A WebSub subscriber that re-fetches the feed with its previous ETag on every delivery (as
  many do, taking the delivery as a ping) gets the new version every time: the hub delivers
  only once the instance's workers serve it (feedsvc/websub/gate.py).
- A client opening new connections as fast as it can across 10 publishes never sees a version
  older than one it has seen: the workers share a version board (feedsvc/publish/board.py).
- Two instances on one database: a subscriber that re-fetches from the instance that did not
  regenerate gets the new version too (the hub waits for every live instance).
"""

from __future__ import annotations

import http.client
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.helpers.instances import (
    BASE_URL,
    database,
    make_serve,
    news_article,
    put_article,
    seed,
    settings_env,
    store_params,
    wait_until,
)
from tests.helpers.servers import QuietHandler

pytestmark = pytest.mark.slow

FEED = "/feeds/thoi-su.json"
TOPIC = BASE_URL + FEED
HUB = {"FEEDSVC_WEBSUB_HUB": "self", "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on"}
WAIT = 15.0  # the bound on each wait for a delivery or a sighting


def article_ids(body: bytes) -> list[str]:
    """The article ids of a JSON Feed, newest first."""
    return [item["id"].rsplit("/", 1)[1] for item in json.loads(body)["items"]]


# --- a subscriber that fetches the feed on every delivery --------------------------------------


@dataclass
class Fetch:
    """What the subscriber fetched right after a delivery."""

    delivered: list[str]  # the article ids in the delivered feed
    status: int
    fetched: list[str]  # the article ids of the feed fetched (empty on a 304)


@dataclass
class PingSubscriber:
    """Answers verification; on each delivery, at once GETs the feed from ``origin`` on a new
    connection with the ETag of its previous fetch, and records what it got."""

    origin: str
    etag: str = ""
    fetches: list[Fetch] = field(default_factory=list)
    verified: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def callback(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/cb/{uuid.uuid4().hex}"

    def refetch(self, delivered: bytes) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = requests.get(self.origin + FEED, headers=headers, timeout=10)
        fetched = article_ids(response.content) if response.status_code == 200 else []
        if response.status_code == 200:
            self.etag = response.headers["ETag"]
        with self.changed:
            self.fetches.append(Fetch(article_ids(delivered), response.status_code, fetched))
            self.changed.notify_all()

    def wait_for(self, article_id: str) -> Fetch:
        """The fetch that followed the first delivery holding ``article_id``."""

        def found() -> Fetch | None:
            return next((f for f in self.fetches if article_id in f.delivered), None)

        with self.changed:
            assert self.changed.wait_for(lambda: found() is not None, WAIT), (
                f"no delivery with {article_id} within {WAIT} s"
            )
            fetch = found()
        assert fetch is not None
        return fetch


@contextmanager
def ping_subscriber(origin: str) -> Iterator[PingSubscriber]:
    sub = PingSubscriber(origin)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self.reply(200, query.get("hub.challenge", "").encode())
            sub.verified.set()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.reply(204)
            sub.refetch(body)  # a ping: fetch the feed now

    sub.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sub.server.daemon_threads = True
    threading.Thread(target=sub.server.serve_forever, daemon=True).start()
    try:
        yield sub
    finally:
        sub.server.shutdown()
        sub.server.server_close()


def subscribe(hub: str, sub: PingSubscriber) -> None:
    """Subscribe ``sub`` to the feed at the hub of ``hub``; wait until it is active."""
    form = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": sub.callback}
    assert requests.post(f"{hub}/websub", data=form, timeout=10).status_code == 202
    assert sub.verified.wait(WAIT), "the hub did not verify the subscription"
    time.sleep(0.5)  # the verification is answered; the activation is written right after
    sub.etag = requests.get(sub.origin + FEED, timeout=10).headers["ETag"]


def publish_and_check(write_to: str, sub: PingSubscriber, publishes: int) -> list[str]:
    """Publish articles one at a time; for each, what the fetch after its delivery got wrong."""
    wrong = []
    for n in range(publishes):
        article_id = f"ping-{n}-{uuid.uuid4().hex[:6]}"
        assert put_article(write_to, news_article(article_id, 0.01)).status_code == 201
        fetch = sub.wait_for(article_id)
        if fetch.status != 200 or article_id not in fetch.fetched:
            wrong.append(f"{article_id}: {fetch.status}, newest {fetch.fetched[:1]}")
    return wrong


def test_a_subscriber_fetching_on_every_delivery_gets_the_new_version(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        env = settings_env(url, **HUB)
        seed(env)
        with (
            make_serve(env, tmp_path / "serve.log", workers=3) as instance,
            ping_subscriber(instance.base) as sub,
        ):
            subscribe(instance.base, sub)
            wrong = publish_and_check(instance.base, sub, 20)
    assert wrong == [], f"{len(wrong)} of 20 fetches after a delivery missed it: {wrong}"


@pytest.mark.parametrize("kind", store_params())
def test_two_instances_each_serve_a_version_before_it_is_delivered(
    kind: str, tmp_path: Path
) -> None:
    """Articles go in through one instance; whichever instance's hub delivers, the subscriber
    fetches from the other one and gets the new version."""
    with database(kind, tmp_path) as url:
        env = settings_env(url, **HUB)
        seed(env)
        with (
            make_serve(env, tmp_path / "a.log", workers=2) as first,
            make_serve(env, tmp_path / "b.log", workers=2) as second,
            ping_subscriber(second.base) as sub,
        ):
            subscribe(first.base, sub)
            wrong = publish_and_check(first.base, sub, 10)
    assert wrong == [], f"{len(wrong)} of 10 fetches from the other instance missed it: {wrong}"


# --- a client on new connections as fast as it can ---------------------------------------------


@dataclass
class Sighting:
    """One response: when it came, its item count, newest item and Last-Modified."""

    at: float
    items: int
    newest: str
    last_modified: float
    etag: str


def watch(port: int, stop: threading.Event, seen: list[Sighting], errors: list[str]) -> None:
    """GET the feed on a new connection each time until ``stop``; note every response."""
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", FEED, headers={"Accept-Encoding": "identity"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
                continue
            ids = article_ids(body)
            modified = parsedate_to_datetime(response.getheader("Last-Modified", "")).timestamp()
            etag = response.getheader("ETag", "")
            seen.append(Sighting(time.monotonic(), len(ids), ids[0], modified, etag))
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
        finally:
            conn.close()


def backwards(seen: list[Sighting]) -> list[str]:
    """Every response older than one seen before it (fewer items, or an earlier
    Last-Modified, or an ETag that had been replaced already)."""
    found = []
    most, latest, retired, current = 0, 0.0, set[str](), ""
    for s in seen:
        if s.items < most or s.last_modified < latest or s.etag in retired:
            found.append(f"{s.items} items (had {most}), newest {s.newest}, at {s.at:.3f}")
        if s.items > most:
            if current:
                retired.add(current)
            most, current = s.items, s.etag
        latest = max(latest, s.last_modified)
    return found


def test_new_connections_never_see_a_feed_go_back(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        env = settings_env(url)
        seed(env)
        with make_serve(env, tmp_path / "serve.log", workers=3) as instance:
            port = int(instance.base.rsplit(":", 1)[1])
            seen: list[Sighting] = []
            errors: list[str] = []
            stop = threading.Event()
            client = threading.Thread(target=watch, args=(port, stop, seen, errors))
            client.start()
            published = []
            try:
                for n in range(10):
                    article_id = f"fresh-{n}-{uuid.uuid4().hex[:6]}"
                    assert put_article(instance.base, news_article(article_id, 0.01)).ok
                    published.append(article_id)
                    wait_until(
                        lambda wanted=article_id: seen and seen[-1].newest == wanted,
                        WAIT,
                        f"the client seeing {article_id}",
                        every=0.01,
                    )
                    time.sleep(0.3)  # every worker keeps answering meanwhile
            finally:
                stop.set()
                client.join(30)
    assert not errors, errors[:5]
    assert {s.newest for s in seen} >= set(published)
    wrong = backwards(seen)
    print(f"{len(seen)} responses on new connections, {len(wrong)} older than one seen before")
    assert len(seen) > 200
    assert wrong == [], wrong[:10]
