"""Issue 13, finding 3: a third party could replace or remove the reference bot's subscription.

The attack: knowing (or guessing) the bot's callback URL, send the hub a subscribe with a new
``hub.secret`` (deliveries then carry the attacker's signature, and the bot's own are
refused), or an unsubscribe. The hub verifies each with a GET to the callback, and the bot
(examples/bot) confirmed any challenge for its topic, whatever the mode. WebSub §5.3.1: a
subscriber confirms only the (un)subscription it asked for.

Here the bot runs as its own process against a hub played by this test over 127.0.0.1: its
own subscription is verified, and then the same GETs a stranger's requests would make the hub
send are answered 404.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.helpers.paths import REPO
from tests.helpers.servers import QuietHandler, free_port, started

BOT = REPO / "examples" / "bot" / "bot.py"
WAIT = 20.0


class FakeHub:
    """Serves one JSON Feed naming itself as the hub, and records subscription requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.changed = threading.Condition()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.topic = f"{self.base}/feeds/thoi-su.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[QuietHandler]:
        hub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": []})
                headers = [
                    ("Content-Type", "application/feed+json"),
                    ("Link", f'<{hub.base}/websub>; rel="hub"'),
                    ("Link", f'<{hub.topic}>; rel="self"'),
                ]
                self.reply(200, body.encode(), headers)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                self.reply(202)
                with hub.changed:
                    hub.requests.append(form)
                    hub.changed.notify_all()

        return Handler

    def next_request(self, seen: int) -> dict[str, str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.requests) > seen, WAIT)
            return self.requests[seen]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(callback: str, mode: str, topic: str, **extra: str) -> requests.Response:
    """The GET a hub sends to verify a request for ``callback`` (WebSub §5.3)."""
    params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "c-" + mode, **extra}
    joiner = "&" if "?" in callback else "?"
    return requests.get(callback + joiner + urlencode(params), timeout=5)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    fake = FakeHub()
    yield fake
    fake.close()


def test_the_bot_confirms_only_what_it_asked_for(hub: FakeHub, tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    guessable = f"http://{listen}/websub"  # the bot's default callback URL
    args = [hub.topic, "--state", str(tmp_path / "state.json"), "--listen", listen]
    log = tmp_path / "bot.log"
    with started([sys.executable, str(BOT), *args], {"PYTHONUNBUFFERED": "1"}, log):
        asked = hub.next_request(0)
        assert asked["hub.mode"] == "subscribe" and asked["hub.topic"] == hub.topic
        callback = asked["hub.callback"]
        assert callback.startswith(guessable)

        # Before the bot's own request is verified: a stranger's unsubscribe is not it.
        assert verify(callback, "unsubscribe", hub.topic).status_code == 404
        # The hub verifies the bot's own request: confirmed, once.
        mine = verify(callback, "subscribe", hub.topic, **{"hub.lease_seconds": "600"})
        assert (mine.status_code, mine.text) == (200, "c-subscribe")
        _wait_for_line(log, "bot: subscribed")

        # What a stranger's requests for the same callback make the hub send: refused.
        forged_resubscribe = verify(callback, "subscribe", hub.topic, **{"hub.lease_seconds": "9"})
        assert forged_resubscribe.status_code == 404
        assert verify(callback, "unsubscribe", hub.topic).status_code == 404
        for mode in ("subscribe", "unsubscribe"):
            assert verify(guessable, mode, hub.topic).status_code == 404
        # Another topic is never confirmed either.
        assert verify(callback, "subscribe", hub.base + "/feeds/other.json").status_code == 404
        assert len(hub.requests) == 1  # the bot asked for nothing else meanwhile


def _wait_for_line(log: Path, prefix: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if log.exists() and any(line.startswith(prefix) for line in log.read_text().splitlines()):
            return
        time.sleep(0.05)
    raise AssertionError(f"the bot never printed {prefix!r}: {log.read_text()}")


def test_each_request_names_a_fresh_callback(hub: FakeHub, tmp_path: Path) -> None:
    """Renewals and restarts: a new nonce each time, and the replaced one is unsubscribed."""
    listen = f"127.0.0.1:{free_port()}"
    state = tmp_path / "state.json"
    args = [hub.topic, "--state", str(state), "--listen", listen, "--lease", "60"]
    callbacks: list[str] = []
    for run in range(2):
        log = tmp_path / f"bot-{run}.log"
        with started([sys.executable, str(BOT), *args], {"PYTHONUNBUFFERED": "1"}, log):
            asked = hub.next_request(len(hub.requests))
            callbacks.append(asked["hub.callback"])
            assert verify(callbacks[-1], "subscribe", hub.topic).status_code == 200
            _wait_for_line(log, "bot: subscribed")
            if run == 1:
                leave = hub.next_request(2)
                assert (leave["hub.mode"], leave["hub.callback"]) == ("unsubscribe", callbacks[0])
                assert verify(callbacks[0], "unsubscribe", hub.topic).status_code == 200
                # A delivery to the callback given up: 410 Gone ends it at the hub (§7).
                gone = requests.post(callbacks[0], data=b"{}", timeout=5)
                assert gone.status_code == 410
    assert callbacks[0] != callbacks[1]
    assert urlsplit(callbacks[0]).path.rsplit("/", 1)[-1] != "websub"
    assert json.loads(state.read_text())["nonce"] == urlsplit(callbacks[1]).path.rsplit("/", 1)[-1]
