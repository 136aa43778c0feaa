"""A reference headline bot for feedsvc: new stories of one category, each handed once to a sender.

For Telegram, Zalo OA and signed webhooks, ``feedsvc relay`` does the whole job (docs/relay.md);
this file is a minimal WebSub subscriber to copy into your own code.

With ``--listen`` it subscribes to the feed through its WebSub hub and runs a small callback
server; without it (or when the feed names no hub) it polls the JSON Feed with conditional GETs.
The ids it has handled live in a small JSON state file, so a restart never posts a story twice.
Standard library only: copy this file anywhere with Python 3.11+.

    python bot.py http://127.0.0.1:8000/feeds/thoi-su.json                  # poll, print
    python bot.py URL --listen 0.0.0.0:8765 --callback-url https://bot.example/websub
    python bot.py URL --webhook https://relay.example/zalo                    # POST JSON
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import importlib
import json
import os
import secrets
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

KEEP_IDS = 5000  # ids remembered: far more than a feed ever holds (FEEDSVC_FEED_ITEMS ≤ 1000)
# Who is polling, for the publisher's audience figures (feedsvc counts it as its own relay).
USER_AGENT = "feedsvc-relay/1 (+examples/bot)"


@dataclass(frozen=True)
class Headline:
    """What a sender gets: a story's stable id, title, link and lead photo."""

    id: str
    title: str
    url: str
    image: str | None = None
    published: str | None = None


Sender = Callable[[Headline], None]


def print_sender(headline: Headline) -> None:
    """The default sender: one line per story on standard output."""
    photo = f"  [ảnh: {headline.image}]" if headline.image else ""
    print(f"{headline.title} — {headline.url}{photo}", flush=True)


def webhook_sender(url: str) -> Sender:
    """A sender that POSTs each headline as JSON to ``url`` (a Zalo or Telegram relay)."""

    def send(headline: Headline) -> None:
        body = json.dumps(asdict(headline), ensure_ascii=False).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()  # any status ≥ 400 raises: the story is retried, not lost

    return send


class State:
    """The ids already handled, the feed's ETag, the WebSub secret and the nonce of the
    subscription in force, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = json.loads(path.read_text("utf-8")) if path.exists() else {}
        self.fresh = not path.exists()
        self.seen: list[str] = data.get("seen", [])
        self._seen = set(self.seen)
        self.etag: str | None = data.get("etag")
        self.secret: str = data.get("secret") or secrets.token_hex(24)
        self.nonce: str | None = data.get("nonce")

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._seen

    def add(self, item_id: str) -> None:
        self.seen.append(item_id)
        self._seen.add(item_id)
        if len(self.seen) > KEEP_IDS:
            del self.seen[:-KEEP_IDS]
            self._seen = set(self.seen)

    def save(self) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        data = {"seen": self.seen, "etag": self.etag, "secret": self.secret, "nonce": self.nonce}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        os.replace(tmp, self.path)


class Bot:
    """Turns feed documents into headlines, each id handed to the sender once."""

    def __init__(self, feed_url: str, state: State, sender: Sender, backfill: bool) -> None:
        self.feed_url = feed_url
        self.state = state
        self.sender = sender
        self.backfill = backfill
        self.lock = threading.Lock()

    def handle(self, feed: dict[str, Any]) -> int:
        """Send the stories not seen before, oldest first; how many were sent."""
        with self.lock:
            items = [i for i in reversed(feed.get("items", [])) if i["id"] not in self.state]
            if self.state.fresh and not self.backfill:
                # First run: what is already published is the past, not news.
                for item in items:
                    self.state.add(item["id"])
                items = []
            self.state.fresh = False
            for item in items:
                self.sender(
                    Headline(
                        id=item["id"],
                        title=item.get("title", ""),
                        url=item.get("url", ""),
                        image=item.get("image"),
                        published=item.get("date_published"),
                    )
                )
                self.state.add(item["id"])
                self.state.save()  # after each story: a crash resends at most the one in flight
            self.state.save()
            return len(items)

    def poll(self, conditional: bool = True) -> tuple[int, dict[str, str]]:
        """One GET (conditional: If-None-Match); the stories sent and the feed's links
        (WebSub §4: Link headers first, then the JSON Feed's ``hubs``)."""
        headers = {"Accept": "application/feed+json", "User-Agent": USER_AGENT}
        if self.state.etag and conditional:
            headers["If-None-Match"] = self.state.etag
        request = urllib.request.Request(self.feed_url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
                links = parse_links(response.headers.get_all("Link") or [])
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 0, {}
            raise
        feed = json.loads(body)
        sent = self.handle(feed)
        with self.lock:
            self.state.etag = etag
            self.state.save()
        if "hub" not in links and feed.get("hubs"):
            links["hub"] = feed["hubs"][0]["url"]
        return sent, links


def parse_links(values: list[str]) -> dict[str, str]:
    """rel -> URL from Link header values (each may hold several links)."""
    links: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            url, _, params = part.partition(";")
            for param in params.split(";"):
                name, _, rel = param.strip().partition("=")
                if name == "rel":
                    links.setdefault(rel.strip('"'), url.strip(" <>"))
    return links


def with_nonce(callback: str, nonce: str) -> str:
    """The callback URL with ``nonce`` as one more path segment (its query kept)."""
    parts = urlsplit(callback)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + nonce))


def nonce_of(path: str) -> str:
    """The nonce a request to the callback names: the last segment of its path."""
    return urlsplit(path).path.rsplit("/", 1)[-1]


class WebSubListener:
    """Subscribes through the hub and answers it at the callback URL (W3C WebSub §5, §7).

    Each request to the hub names a callback with a fresh random nonce as its last path
    segment, and the bot confirms a verification only for a request it sent and that is still
    waiting, with that request's mode and topic (§5.3.1: a subscriber confirms only what it
    asked for). A stranger's subscribe (with another secret) or unsubscribe is answered 404, and
    a delivery to a callback the bot no longer uses gets 410, which ends that subscription (§7).
    """

    def __init__(self, bot: Bot, hub: str, topic: str, listen: str, callback: str) -> None:
        self.bot, self.hub, self.topic, self.callback = bot, hub, topic, callback
        host, _, port = listen.rpartition(":")
        self.server = http.server.ThreadingHTTPServer(
            (host.strip("[]"), int(port)), self._handler()
        )
        self.verified = threading.Event()
        self.lease = 0
        self.lock = threading.Lock()
        self.asked: dict[str, str] = {}  # nonce -> mode of a request the hub has yet to verify
        self.leaving: set[str] = set()  # nonces of subscriptions being replaced

    def confirm(self, nonce: str, query: dict[str, str]) -> bool:
        """Whether a verification is one the bot asked for (each is confirmed once)."""
        mode = query.get("hub.mode", "")
        with self.lock:
            if query.get("hub.topic") != self.topic or "hub.challenge" not in query:
                return False
            if self.asked.get(nonce) != mode:
                return False
            del self.asked[nonce]
            if mode == "unsubscribe":
                self.leaving.discard(nonce)
                return True
            self.lease = int(query.get("hub.lease_seconds", "0"))
            state = self.bot.state
            if state.nonce and state.nonce != nonce:
                self.leaving.add(state.nonce)
            with self.bot.lock:
                state.nonce = nonce
                state.save()
        self.verified.set()
        return True

    def subscribed(self, nonce: str) -> bool:
        """Whether deliveries to this nonce's callback are still wanted."""
        with self.lock:
            return nonce == self.bot.state.nonce or nonce in self.leaving

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the hub checks that we asked (§5.3)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if not listener.confirm(nonce_of(self.path), query):
                    return self._reply(404, b"this bot asked for no such thing")
                self._reply(200, query["hub.challenge"].encode())

            def do_POST(self) -> None:  # new content (§7), signed with our secret (§7.1)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not listener.subscribed(nonce_of(self.path)):
                    return self._reply(410, b"no subscription here any more")
                mine = hmac.new(listener.bot.state.secret.encode(), body, hashlib.sha256)
                given = self.headers.get("X-Hub-Signature", "")
                self._reply(204, b"")  # acknowledge first: the hub must not wait on us
                if not hmac.compare_digest(given, "sha256=" + mine.hexdigest()):
                    print("bot: ignored a delivery with a wrong signature", file=sys.stderr)
                    return
                try:
                    listener.bot.handle(json.loads(body))
                except (OSError, ValueError) as exc:  # unsent stories go out with the next one
                    print(f"bot: a delivery failed: {exc}", file=sys.stderr)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def ask(self, mode: str, lease_seconds: int, nonce: str | None = None) -> str:
        """Send the hub a request (it answers 202, then verifies with a GET); its nonce. A
        subscribe gets a fresh nonce; an unsubscribe names the subscription's."""
        nonce = nonce or secrets.token_urlsafe(18)
        form = {"hub.mode": mode, "hub.topic": self.topic}
        form["hub.callback"] = with_nonce(self.callback, nonce)
        if mode == "subscribe":
            form["hub.secret"] = self.bot.state.secret
            form["hub.lease_seconds"] = str(lease_seconds)
        with self.lock:
            self.asked[nonce] = mode
        request = urllib.request.Request(self.hub, data=urlencode(form).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except BaseException:
            with self.lock:
                self.asked.pop(nonce, None)
            raise
        return nonce

    def run(self, lease_seconds: int, stop: threading.Event) -> None:
        """Serve callbacks; subscribe, and renew before each lease runs out (each renewal is a
        new subscription with a new nonce; the one it replaces is then unsubscribed)."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        try:
            while not stop.is_set():
                self.verified.clear()
                try:
                    nonce = self.ask("subscribe", lease_seconds)
                except (OSError, ValueError) as exc:
                    print(f"bot: the hub refused the subscription: {exc}", file=sys.stderr)
                    stop.wait(_retry_after(exc, 10))
                    continue
                if not self.verified.wait(30):
                    with self.lock:
                        self.asked.pop(nonce, None)  # too late now: never confirmed
                    print("bot: the hub did not verify the subscription; retrying", file=sys.stderr)
                    stop.wait(10)
                    continue
                print(f"bot: subscribed for {self.lease} s", file=sys.stderr)
                self._leave_replaced()
                self.bot.poll()  # stories published while the subscription was being made
                stop.wait(max(10.0, self.lease * 0.8))
        finally:
            self.server.shutdown()

    def _leave_replaced(self) -> None:
        """Unsubscribe the subscriptions the new one replaced (a failure only leaves one to
        expire, and its deliveries get 410 once it is no longer wanted)."""
        with self.lock:
            leaving = list(self.leaving)
        for nonce in leaving:
            try:
                self.ask("unsubscribe", 0, nonce)
            except (OSError, ValueError) as exc:
                print(f"bot: could not unsubscribe a replaced callback: {exc}", file=sys.stderr)


def _retry_after(exc: BaseException, default: float) -> float:
    """The seconds a hub's 429 asks to wait (Retry-After), or ``default``."""
    if isinstance(exc, urllib.error.HTTPError):
        value = exc.headers.get("Retry-After", "")
        if value.isdigit():
            return float(value)
    return default


def load_sender(args: argparse.Namespace) -> Sender:
    """The sender the options name: --sender MODULE:NAME, --webhook URL, or printing."""
    if args.sender:
        module, _, name = args.sender.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    if args.webhook:
        return webhook_sender(args.webhook)
    return print_sender


def main(argv: list[str] | None = None) -> int:
    """Run the bot until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("feed", help="the category's JSON Feed, e.g. …/feeds/thoi-su.json")
    parser.add_argument("--state", default="bot-state.json", help="file of handled ids")
    parser.add_argument("--listen", help="HOST:PORT for WebSub callbacks (else: polling)")
    parser.add_argument(
        "--callback-url", help="public URL of the callback (default: from --listen)"
    )
    parser.add_argument("--lease", type=int, default=86400, help="WebSub lease to ask, seconds")
    parser.add_argument("--interval", type=float, default=60, help="seconds between polls")
    parser.add_argument("--webhook", help="POST each headline as JSON to this URL")
    parser.add_argument("--sender", help="MODULE:NAME of your own sender function")
    parser.add_argument("--backfill", action="store_true", help="first run: send what is there")
    args = parser.parse_args(argv)

    bot = Bot(args.feed, State(Path(args.state)), load_sender(args), args.backfill)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _, links = bot.poll(conditional=False)  # catch up on what came while the bot was away
    except (OSError, ValueError) as exc:
        print(f"bot: cannot read {args.feed}: {exc}", file=sys.stderr)
        return 1
    try:
        hub, topic = links.get("hub"), links.get("self", args.feed)
        if args.listen and hub:
            callback = args.callback_url or f"http://{args.listen}/websub"
            print(f"bot: subscribing to {topic} through {hub}", file=sys.stderr)
            WebSubListener(bot, hub, topic, args.listen, callback).run(args.lease, stop)
        else:
            print(f"bot: polling {args.feed} every {args.interval:g} s", file=sys.stderr)
            while not stop.wait(args.interval):
                try:
                    bot.poll()
                except (OSError, ValueError) as exc:
                    print(f"bot: poll failed: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
