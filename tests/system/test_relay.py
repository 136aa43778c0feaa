"""``feedsvc relay`` end to end over real sockets: stories published through the ingest API of
a live feedsvc reach the relay through the built-in hub, and local Telegram, Zalo and webhook
servers (tests/helpers/chat_apis.py: strict about the documented shapes, and answering the
services' errors on demand) receive exactly one well-formed message per story and destination."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.chat_apis import FakeTelegram, FakeZalo, telegram_visible_text, utf16
from tests.helpers.relay import article, live_service, publish, relay_process, toml_config
from tests.helpers.servers import QuietHandler, free_port

pytestmark = pytest.mark.slow

BOT_TOKEN = "123456:relay-test-bot-token"
APP_ID, SECRET_KEY = "4321", "zalo-secret-key"
HOOK_SECRET = "hook-secret"
WAIT = 25.0


class Hook:
    """A webhook receiver: records each body with its signature and delivery id."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str, str]] = []
        self.lock = threading.Condition()
        hook = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mine = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                signed = self.headers.get("X-Feedsvc-Signature") == f"sha256={mine}"
                self.reply(204 if signed else 401)
                if signed:
                    with hook.lock:
                        delivery = self.headers.get("X-Feedsvc-Delivery", "")
                        hook.received.append((json.loads(body), delivery, mine))
                        hook.lock.notify_all()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeZalo, Hook]]:
    telegram, zalo, hook = FakeTelegram(BOT_TOKEN), FakeZalo(APP_ID, SECRET_KEY), Hook()
    try:
        yield telegram, zalo, hook
    finally:
        for server in (telegram, zalo, hook):
            server.close()


def relay_env(
    folder: Path,
    service: dict[str, str],
    telegram: FakeTelegram,
    zalo: FakeZalo,
    hook: Hook | None,
    **relay: Any,
) -> dict[str, str]:
    """The relay's environment and settings file: two Telegram chats, a Zalo follower, a
    webhook."""
    (folder / "bot-token").write_text(BOT_TOKEN + "\n")
    (folder / "zalo-secret").write_text(SECRET_KEY)
    refresh = folder / "zalo-refresh"
    if not refresh.exists():
        refresh.write_text(zalo.refresh_token)
    destinations: dict[str, dict[str, Any]] = {
        "tg-thoisu": {
            "type": "telegram",
            "chat_id": "1001",
            "token_file": str(folder / "bot-token"),
            "categories": ["thoi-su"],
            "api_base": telegram.base,
            "pace_seconds": 0.05,
        },
        "tg-group": {
            "type": "telegram",
            "chat_id": "-100200",
            "token_env": "RELAY_TEST_BOT_TOKEN",
            "keywords": ["biên giới"],
            "api_base": telegram.base,
            "pace_seconds": 0.05,
        },
        "zalo-follower": {
            "type": "zalo",
            "app_id": APP_ID,
            "user_id": "8000001",
            "secret_key_file": str(folder / "zalo-secret"),
            "refresh_token_file": str(refresh),
            "api_base": zalo.base,
            "oauth_base": zalo.base,
            "pace_seconds": 0.05,
        },
    }
    if hook is not None:
        destinations["hook"] = {
            "type": "webhook",
            "url": hook.url,
            "secret_env": "RELAY_TEST_HOOK_SECRET",
            "categories": ["kinh-te"],
        }
    port = free_port()
    settings = {
        "listen": f"127.0.0.1:{port}",
        "poll_seconds": 30,
        "safety_poll_seconds": 30,
        "backoff_seconds": 0.2,
        "timeout_seconds": 1.5,
        **relay,
    }
    config = folder / "feedsvc.toml"
    config.write_text(toml_config(settings, destinations), "utf-8")
    return {
        "FEEDSVC_DATABASE_URL": service["FEEDSVC_DATABASE_URL"],
        "FEEDSVC_BASE_URL": service["FEEDSVC_BASE_URL"],
        "FEEDSVC_CONFIG": str(config),
        "RELAY_TEST_BOT_TOKEN": BOT_TOKEN,
        "RELAY_TEST_HOOK_SECRET": HOOK_SECRET,
        "PYTHONUNBUFFERED": "1",
    }


def outbox_states(service: dict[str, str], destination: str = "%") -> Counter[str]:
    path = service["FEEDSVC_DATABASE_URL"].removeprefix("sqlite:///")
    query = "SELECT state FROM relay_outbox WHERE destination LIKE ?"
    with sqlite3.connect(path) as conn:
        return Counter(row[0] for row in conn.execute(query, (destination,)))


def test_each_story_once_to_every_destination_through_the_hub(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo, Hook]
) -> None:
    telegram, zalo, hook = fakes
    with live_service(tmp_path) as service:
        base = service["FEEDSVC_BASE_URL"]
        old = article("thoi-su", "Tin cũ trước khi relay chạy")
        old["published_at"] = "2026-01-01T08:00:00+07:00"  # outside the start-up window
        publish(base, old)
        env = relay_env(tmp_path, service, telegram, zalo, hook)
        with relay_process(tmp_path, env) as relay:
            for key in ("all", "kinh-te", "thoi-su"):
                relay.wait_log(f"feed {key}: subscribed through the hub")
            time.sleep(1.0)  # the poll that follows each subscription is done: what comes now
            # comes through the hub (the next poll is 30 s away)
            # The services' errors, one after the other: each story still arrives once.
            telegram.fail_next("429:1", "500", "timeout")
            zalo.fail_next("expired", "502", "timeout")
            long_sapo = "Lực lượng Biên phòng <tuần tra> & kiểm soát " + "rất dài " * 300
            stories = [
                article("thoi-su", "Đồn Biên phòng tuần tra biên giới", summary=long_sapo),
                article("kinh-te", "Cửa khẩu thông quan hàng hoá", image=False, summary="Sapo"),
                article("thoi-su", "Tin <b>đậm</b> & “ngoặc” ở biên giới", image=False),
            ]
            for story in stories:
                publish(base, story)
            urls = {s["url"] for s in stories}
            tg_expected = {
                ("1001", stories[0]["url"]),
                ("1001", stories[2]["url"]),
                ("-100200", stories[0]["url"]),
                ("-100200", stories[2]["url"]),
            }

            def tg_pairs() -> set[tuple[str, str]]:
                return {
                    (m.recipient, m.params["reply_markup"]["inline_keyboard"][0][0]["url"])
                    for m in telegram.received
                }

            assert telegram.wait_for(lambda _: tg_pairs() >= tg_expected, WAIT), relay.log()
            assert zalo.wait_for(lambda r: len(r) >= 3, WAIT), relay.log()
            with hook.lock:
                assert hook.lock.wait_for(lambda: len(hook.received) >= 1, WAIT), relay.log()
            # Room for a duplicate to show up (a retried send, a hub redelivery, a poll).
            threading.Event().wait(2.0)
            log = relay.log()
    assert telegram.malformed == [] and zalo.malformed == []
    # Telegram: two chats; the keyword filter of tg-group let both "biên giới" stories in.
    sent = Counter(
        (m.recipient, m.params["reply_markup"]["inline_keyboard"][0][0]["url"])
        for m in telegram.received
    )
    assert sent == dict.fromkeys(tg_expected, 1), sent
    photo = next(m for m in telegram.received if m.method == "sendPhoto")
    caption, errors = telegram_visible_text(photo.params["caption"])
    assert errors == [] and utf16(caption) <= 1024
    assert caption.startswith(
        "Đồn Biên phòng tuần tra biên giới\n\nLực lượng Biên phòng <tuần tra>"
    )
    assert "…" in caption and caption.endswith(stories[0]["url"])
    assert photo.params["photo"] == stories[0]["image"]["url"]
    assert photo.params["caption"].startswith("<b>Đồn Biên phòng")
    assert "&lt;tuần tra&gt; &amp; kiểm soát" in photo.params["caption"]
    button = photo.params["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Đọc tiếp", "url": stories[0]["url"]}
    text = next(m for m in telegram.received if m.method == "sendMessage")
    assert text.params["link_preview_options"]["url"] == stories[2]["url"]
    assert "<b>Tin đậm &amp; “ngoặc” ở biên giới</b>" in text.params["text"]
    # Zalo: every story once, after renewing the expired token once.
    zalo_urls = Counter(
        m.params["message"]["attachment"]["payload"]["elements"][0]["default_action"]["url"]
        for m in zalo.received
    )
    assert zalo_urls == dict.fromkeys(urls, 1), zalo_urls
    assert all(
        m.method == "/v3.0/oa/message/cs" and m.recipient == "8000001" for m in zalo.received
    )
    assert zalo.refreshes == 2  # the first send (no access token yet), then the expired one
    # The webhook: the kinh-te story, signed, once.
    assert [body["url"] for body, _, _ in hook.received] == [stories[1]["url"]]
    assert hook.received[0][0]["title"] == "Cửa khẩu thông quan hàng hoá"
    # The story from before the window never went anywhere; nothing is waiting.
    assert old["url"] not in {u for _, u in sent} | set(zalo_urls)
    assert set(outbox_states(service)) == {"sent"}
    for secret in (BOT_TOKEN, SECRET_KEY, HOOK_SECRET, "at-", "rt-"):
        assert secret not in log
    assert "429" in log and "renewed" in log
    assert "(pushed)" in log and "(polled)" not in log


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def zalo_urls_of(zalo: FakeZalo) -> Counter[str]:
    return Counter(
        m.params["message"]["attachment"]["payload"]["elements"][0]["default_action"]["url"]
        for m in zalo.received
    )


def tokens_row(service: dict[str, str]) -> tuple[str | None, str, str | None]:
    path = service["FEEDSVC_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT access_token, refresh_token, refreshing_since FROM relay_zalo_tokens"
        ).fetchone()
    return row[0], row[1], row[2]


def test_a_crash_right_after_the_token_renewal_loses_nothing(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo, Hook]
) -> None:
    telegram, zalo, _ = fakes
    with live_service(tmp_path) as service:
        base = service["FEEDSVC_BASE_URL"]
        env = relay_env(tmp_path, service, telegram, zalo, None)
        with relay_process(tmp_path, env) as relay:
            relay.wait_log("feed all: subscribed through the hub")
            # Zalo spends the refresh token and makes a new pair; the relay dies before the
            # answer reaches it (the worst instant: the new pair exists only at Zalo).
            zalo.hold_refresh.set()
            first = article("thoi-su", "Tin biên giới trước sự cố")
            publish(base, first)
            assert zalo.refresh_held.wait(WAIT), relay.log()
            relay.kill9()
            zalo.hold_refresh.clear()
            zalo.release.set()
            access, _, refreshing = tokens_row(service)
            assert access is None and refreshing is not None  # the mark written before the call
            # The Zalo send in flight
            assert outbox_states(service, "zalo-follower") == {"sending": 1}

            # Restarted: the spent token is refused; the relay says what to do, the story
            # waits, and the other destinations go on.
            relay.start()
            relay.wait_log("never stored its answer")
            relay.wait_log("write it to this destination's refresh_token_file")
            assert telegram.wait_for(lambda r: len(r) >= 2, WAIT)  # both chats got it
            assert zalo.received == []
            # The operator authorises the OA again and writes the new refresh token.
            (tmp_path / "zalo-refresh").write_text(zalo.issue_refresh_token())
            relay.stop()
            relay.start()
            assert zalo.wait_for(lambda r: len(r) >= 1, WAIT), relay.log()
            stored_access, stored_refresh, refreshing = tokens_row(service)
            assert (stored_access, stored_refresh) == (zalo.access_token, zalo.refresh_token)
            assert refreshing is None

            # The renewed pair is durable: after a kill -9 it is used as it is (killed once the
            # send is recorded: killed before, it would be the one in-flight repeat).
            wait_until(lambda: outbox_states(service, "zalo-follower") == {"sent": 1})
            relay.kill9()
            relay.start()
            second = article("kinh-te", "Tin sau khi khởi động lại")
            publish(base, second)
            assert zalo.wait_for(lambda r: len(r) >= 2, WAIT), relay.log()
            threading.Event().wait(1.0)
    assert zalo_urls_of(zalo) == {first["url"]: 1, second["url"]: 1}
    assert zalo.refreshes == 2  # the lost one, and the one with the operator's new token
    assert zalo.malformed == [] and telegram.malformed == []
    assert set(outbox_states(service)) == {"sent"}


def test_restarts_and_kill_9_during_a_burst_of_50_stories(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo, Hook]
) -> None:
    telegram, zalo, _ = fakes
    telegram.latency = zalo.latency = 0.03  # sends take a while: kills land mid-send
    kills = 0
    with live_service(tmp_path) as service:
        base = service["FEEDSVC_BASE_URL"]
        env = relay_env(tmp_path, service, telegram, zalo, None)
        stories = [
            article("thoi-su" if n % 2 else "kinh-te", f"Tin biên giới số {n}", tag=f"burst{n}")
            for n in range(50)
        ]
        urls = {s["url"] for s in stories}
        with relay_process(tmp_path, env) as relay:
            relay.wait_log("feed all: subscribed through the hub")
            publisher = threading.Thread(target=lambda: [publish(base, s) for s in stories])
            publisher.start()

            def reached(count: int) -> None:
                assert telegram.wait_for(lambda r: len(r) >= count, WAIT), relay.log()

            reached(3)  # during the burst
            relay.kill9()
            kills += 1
            relay.start()
            reached(15)
            relay.kill9()
            kills += 1
            publisher.join()
            relay.start()
            reached(30)
            relay.stop()  # SIGTERM: the send in progress finishes, nothing repeats
            relay.start()
            reached(40)
            relay.kill9()
            kills += 1
            relay.start()
            tg_wanted = {("1001", s["url"]) for s in stories if s["categories"] == ["thoi-su"]}
            tg_wanted |= {("-100200", u) for u in urls}

            def tg_all(received: list[Any]) -> bool:
                got = {(m.recipient, m.params["reply_markup"]["inline_keyboard"][0][0]["url"])
                       for m in received}  # fmt: skip
                return got >= tg_wanted

            assert telegram.wait_for(tg_all, WAIT), relay.log()
            assert zalo.wait_for(lambda _: set(zalo_urls_of(zalo)) >= urls, WAIT), relay.log()
            threading.Event().wait(1.5)
            log = relay.log()
    sent = Counter(
        (m.recipient, m.params["reply_markup"]["inline_keyboard"][0][0]["url"])
        for m in telegram.received
    )
    assert set(sent) == tg_wanted  # nothing missing, nothing extra
    per_destination = {
        "tg-thoisu": sum(n - 1 for (chat, _), n in sent.items() if chat == "1001"),
        "tg-group": sum(n - 1 for (chat, _), n in sent.items() if chat == "-100200"),
        "zalo-follower": sum(n - 1 for n in zalo_urls_of(zalo).values()),
    }
    print(f"kill -9 x {kills}: repeats per destination {per_destination}")
    # At most the one send in flight per destination and kill -9: never more.
    assert all(extra <= kills for extra in per_destination.values()), per_destination
    # … and each repeat is one the relay found in flight at its start, and said so.
    for name, extra in per_destination.items():
        in_flight = sum(
            1 for ln in log.splitlines() if f"relay: {name}: " in ln and "was being sent" in ln
        )
        assert extra <= in_flight <= kills, (name, extra, in_flight)
    assert set(zalo_urls_of(zalo)) == urls
    assert telegram.malformed == [] and zalo.malformed == []
    assert set(outbox_states(service)) == {"sent"}


def test_without_a_hub_the_relay_polls_with_conditional_gets(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo, Hook]
) -> None:
    telegram, zalo, _ = fakes
    with live_service(tmp_path, FEEDSVC_WEBSUB_HUB="", FEEDSVC_ACCESS_LOG="on") as service:
        base = service["FEEDSVC_BASE_URL"]
        env = relay_env(tmp_path, service, telegram, zalo, None, poll_seconds=0.3)
        stories = [article("thoi-su", f"Tin biên giới không hub {n}") for n in range(2)]
        publish(base, stories[0])  # before the relay starts: its first poll finds it
        with relay_process(tmp_path, env) as relay:
            relay.wait_log("relay: following")  # listening, but the feeds name no hub
            time.sleep(1.0)  # a few polls of unchanged feeds
            publish(base, stories[1])
            wanted = {(chat, s["url"]) for chat in ("1001", "-100200") for s in stories}

            def pairs() -> set[tuple[str, str]]:
                return {
                    (m.recipient, m.params["reply_markup"]["inline_keyboard"][0][0]["url"])
                    for m in telegram.received
                }

            assert telegram.wait_for(lambda _: pairs() >= wanted, WAIT), relay.log()
            assert zalo.wait_for(lambda r: len(r) >= 2, WAIT), relay.log()
            time.sleep(1.0)
            log = relay.log()
    assert len(telegram.received) == 4 and len(zalo.received) == 2
    assert "subscribed" not in log and "(polled)" in log
    # Unchanged feeds cost a 304 (the relay sends If-None-Match with the ETag it got).
    server_log = (tmp_path / "server.log").read_text("utf-8")
    assert server_log.count("GET /feeds/thoi-su.json 304") >= 2
