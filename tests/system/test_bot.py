"""The reference bot (examples/bot) against a live ``make run`` with the built-in hub: each new
headline is handed over exactly once, across the bot's own restarts, by WebSub and by polling."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.instances import put_article
from tests.helpers.paths import REPO
from tests.helpers.relay import article
from tests.helpers.servers import QuietHandler, free_port, make_run, started

pytestmark = pytest.mark.slow

TOKEN = "bot-test-token"
BOT = REPO / "examples" / "bot" / "bot.py"
WAIT = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make run`` with the built-in hub, on a free port; its base URL."""
    folder = tmp_path_factory.mktemp("bot-server")
    settings = {
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_WEBSUB_HUB": "self",
        "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",  # the bot listens on 127.0.0.1
        "FEEDSVC_WEBSUB_BACKOFF_SECONDS": "0.5",
        # Only the start-up sweep, so that no write lands in the middle of a periodic sweep.
        "FEEDSVC_REGENERATE_SECONDS": "3600",
    }
    ready = [f"/feeds/{slug}.json" for slug in ("all", "thoi-su", "kinh-te", "xa-hoi")]
    with make_run(folder, ready, **settings) as base:  # the feeds are rendered one after another
        yield base


def publish(base: str, slug: str, title: str) -> None:
    """PUT one article through the ingest API, published a second ago: newer than every demo
    story, so it is at the top of the feed."""
    record = article(slug, title, tag="bot")
    response = put_article(base, record, TOKEN)
    assert response.status_code == 201, response.text


class BotRun:
    """The output of one bot process: headlines (stdout) and diagnostics (stderr), merged."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def lines(self) -> list[str]:
        if not self.log.exists():
            return []
        return self.log.read_text("utf-8", errors="replace").splitlines()

    def headlines(self) -> list[str]:
        return [line for line in self.lines() if not line.startswith(("bot:", "Traceback"))]

    def wait_for(self, check: Callable[[list[str]], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if check(self.lines()):
                return
            time.sleep(0.05)
        raise AssertionError(f"the bot never {what}; its output:\n" + "\n".join(self.lines()))


@contextmanager
def bot(folder: Path, run: int, *args: str) -> Iterator[BotRun]:
    """Run the bot until the block ends (then SIGTERM, as a supervisor would)."""
    log = folder / f"bot-{run}.log"
    env = {"PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
    with started([sys.executable, str(BOT), *args], env, log):
        yield BotRun(log)


def _printed(runs: list[BotRun], title: str) -> int:
    return sum(1 for r in runs for line in r.headlines() if line.startswith(f"{title} — "))


@pytest.mark.parametrize("mode", ["websub", "poll"])
def test_each_headline_once_across_restarts(server: str, tmp_path: Path, mode: str) -> None:
    slug = {"websub": "thoi-su", "poll": "kinh-te"}[mode]
    feed = f"{server}/feeds/{slug}.json"
    state = tmp_path / "state.json"
    listen = f"127.0.0.1:{free_port()}"
    args = [feed, "--state", str(state), "--interval", "0.3"]
    if mode == "websub":
        args += ["--listen", listen]
    tag = uuid.uuid4().hex[:6]
    titles = [f"Bot {mode} {tag} tin {n}" for n in range(1, 7)]
    runs: list[BotRun] = []

    def ready(run: BotRun) -> None:
        ok = "bot: subscribed" if mode == "websub" else "bot: polling"
        run.wait_for(lambda lines: any(line.startswith(ok) for line in lines), "got ready")

    def seen(run: BotRun, *wanted: str) -> None:
        run.wait_for(lambda _: all(_printed(runs, t) >= 1 for t in wanted), f"printed {wanted}")

    with bot(tmp_path, 1, *args) as first:
        runs.append(first)
        ready(first)
        publish(server, slug, titles[0])
        publish(server, slug, titles[1])
        seen(first, *titles[:2])
    publish(server, slug, titles[2])  # while the bot is down
    publish(server, slug, titles[3])
    with bot(tmp_path, 2, *args) as second:
        runs.append(second)
        seen(second, *titles[2:4])  # caught up at start
        ready(second)
        publish(server, slug, titles[4])
        publish(server, slug, titles[5])
        seen(second, *titles[4:])
        time.sleep(1.5)  # room for a duplicate to show up (a retried delivery, a later poll)

    assert [_printed(runs, t) for t in titles] == [1] * 6
    printed = [line for r in runs for line in r.headlines()]
    assert len(printed) == 6, printed  # nothing from before the first run was sent
    assert all("[ảnh: https://bienphong.example/" in line for line in printed)
    assert json.loads(state.read_text("utf-8"))["etag"]


class Relay(QuietHandler):
    """A chat relay's webhook: records each JSON body."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Type"] == "application/json"
        Relay.received.append(json.loads(body))
        self.reply(204)


def test_webhook_sender_posts_each_headline_as_json(server: str, tmp_path: Path) -> None:
    relay = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{relay.server_port}/zalo"
    feed = f"{server}/feeds/xa-hoi.json"
    title = f"Bot webhook {uuid.uuid4().hex[:6]}"
    args = [feed, "--state", str(tmp_path / "s.json"), "--interval", "0.3", "--webhook", hook]
    try:
        with bot(tmp_path, 1, *args) as run:
            run.wait_for(lambda lines: any(x.startswith("bot: polling") for x in lines), "polled")
            publish(server, "xa-hoi", title)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and not Relay.received:
                time.sleep(0.05)
    finally:
        relay.shutdown()
        relay.server_close()
    assert len(Relay.received) == 1
    headline = Relay.received[0]
    assert headline["title"] == title
    assert headline["url"].startswith("https://bienphong.example/")
    assert headline["image"].endswith(".jpg") and headline["id"].startswith("tag:")
