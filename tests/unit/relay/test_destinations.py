"""Each destination against its local stand-in: the services' answers become the right
outcome (sent, retry after what they asked, drop, or pause with what to do)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedsvc.clock import Clock, FrozenClock
from feedsvc.relay.config import load_relay_config
from feedsvc.relay.destinations import build
from feedsvc.relay.message import Story
from feedsvc.store.db import Database

from tests.helpers.chat_apis import FakeTelegram, FakeZalo
from tests.helpers.servers import QuietHandler

TOKEN = "1:bot-token"
STORY = Story(
    "tag:x,2026:article/1", "Tiêu đề", "https://x.example/1", "Sapo", "https://x.example/1.jpg"
)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    yield server
    server.close()


def destination(kind_options: dict[str, Any], environ: dict[str, str]) -> Any:
    config = load_relay_config({"destinations": {"d": kind_options}}, environ, "http://x.example")
    return config.destinations[0]


def telegram_sender(server: FakeTelegram, token: str = TOKEN) -> Any:
    options = {"type": "telegram", "chat_id": "1", "token_env": "T", "api_base": server.base}
    return build(destination(options, {"T": token}), None, Clock(), 1.0)  # type: ignore[arg-type]


def test_telegram_answers(telegram: FakeTelegram) -> None:
    sender = telegram_sender(telegram)
    assert sender.send(STORY).kind == "sent"
    telegram.fail_next("429:7")
    outcome = sender.send(STORY)
    assert (outcome.kind, outcome.after) == ("retry", 7.0)
    telegram.fail_next("503")
    assert sender.send(STORY).kind == "retry"
    telegram.fail_next("timeout")
    assert sender.send(STORY).kind == "retry"
    wrong = telegram_sender(telegram, "2:other").send(STORY)
    assert wrong.kind == "pause" and "token_file" in wrong.reason and "other" not in wrong.reason


def test_telegram_photo_it_cannot_use_goes_as_text(telegram: FakeTelegram) -> None:
    story = Story(STORY.id, STORY.title, STORY.url, STORY.summary, "not-a-url")
    assert telegram_sender(telegram).send(story).kind == "sent"
    assert [m.method for m in telegram.received] == ["sendMessage"]


def test_zalo_answers(tmp_path: Path, db: Database) -> None:
    zalo = FakeZalo("7", "k")
    try:
        options = {
            "type": "zalo",
            "app_id": "7",
            "user_id": "99",
            "secret_key_env": "K",
            "refresh_token_env": "R",
            "api_base": zalo.base,
            "oauth_base": zalo.base,
            "message_type": "promotion",
        }
        environ = {"K": "k", "R": zalo.refresh_token}
        sender = build(destination(options, environ), db, Clock(), 1.0)  # type: ignore[arg-type]
        assert sender.send(STORY).kind == "sent"
        assert zalo.received[0].method == "/v3.0/oa/message/promotion"
        payload = zalo.received[0].params["message"]["attachment"]["payload"]
        assert [e["type"] for e in payload["elements"]] == ["banner", "header", "text"]
        assert payload["buttons"][0]["payload"]["url"] == STORY.url
        zalo.fail_next("rate")
        assert (sender.send(STORY).kind, sender.send(STORY).kind) == ("retry", "sent")
        zalo.fail_next("expired")
        outcome = sender.send(STORY)
        assert (outcome.kind, outcome.after) == ("retry", 0) and zalo.refreshes == 2
        assert sender.send(STORY).kind == "sent"
        long_title = Story(STORY.id, "x" * 300, STORY.url)
        assert sender.send(long_title).kind == "sent"  # cut to Zalo's limit
        assert zalo.malformed == []
    finally:
        zalo.close()


def test_zalo_quota_and_bad_parameters(db: Database) -> None:
    import datetime as dt

    zalo = FakeZalo("8", "k")
    clock = FrozenClock(dt.datetime(2026, 12, 6, 15, 0, tzinfo=dt.UTC))  # 22:00 in Hà Nội
    try:
        options = {
            "type": "zalo",
            "app_id": "8",
            "group_id": "g1",
            "secret_key_env": "K",
            "refresh_token_env": "R",
            "api_base": zalo.base,
            "oauth_base": zalo.base,
        }
        sender: Any = build(
            destination(options, {"K": "k", "R": zalo.refresh_token}), db, clock, 1.0
        )
        assert sender.send(STORY).kind == "sent"
        assert zalo.received[0].method == "/v3.0/oa/group/message"
        zalo.fail_next("quota")
        outcome = sender.send(STORY)
        assert outcome.kind == "pause" and "next day" in outcome.reason
        assert 2 * 3600 < (outcome.after or 0) <= 2 * 3600 + 120  # until midnight, Vietnam time
        assert sender.body(STORY)["recipient"] == {"group_id": "g1"}
    finally:
        zalo.close()


class HookHandler(QuietHandler):
    got: list[tuple[bytes, dict[str, str]]] = []
    status = 500

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        HookHandler.got.append((body, dict(self.headers)))
        self.reply(HookHandler.status)


def test_webhook_is_signed_and_retried() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        options = {"type": "webhook", "url": url, "secret_env": "S"}
        sender = build(destination(options, {"S": "s3cret"}), None, Clock(), 1.0)  # type: ignore[arg-type]
        assert sender.send(STORY).kind == "retry"
        HookHandler.status = 204
        assert sender.send(STORY).kind == "sent"
        (first, h1), (second, h2) = HookHandler.got
        assert first == second and h1["X-Feedsvc-Delivery"] == h2["X-Feedsvc-Delivery"]
        mine = hmac.new(b"s3cret", second, hashlib.sha256).hexdigest()
        assert h2["X-Feedsvc-Signature"] == f"sha256={mine}"
        assert json.loads(second)["url"] == STORY.url
    finally:
        server.shutdown()
        server.server_close()
