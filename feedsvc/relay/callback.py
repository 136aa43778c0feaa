"""The relay's WebSub callback (W3C WebSub §5.3, §7): answers verifications only for requests
it made, and hands on a delivery only when its ``X-Hub-Signature`` is the HMAC-SHA256 of the
body with the secret the relay subscribed with (§7.1.2: others are acknowledged and ignored).

Each feed has its own path, ``CALLBACK/<feed key>``, so a delivery says which feed it is. A
delivery is stored (the outbox) before the hub gets its 2xx; if that fails, the hub hears 503
and tries again. A feed the relay no longer follows (``on_feed`` raises UnknownFeed) gets 410,
which ends that subscription.
"""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from feedsvc.http.signature import signature_ok

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


class UnknownFeed(LookupError):
    """A delivery for a feed the relay does not follow (any more: its settings changed)."""


class WebSubCallback:
    """A small threaded HTTP server for the hub."""

    def __init__(
        self,
        bind: tuple[str, int],
        secret: str,
        on_feed: Callable[[str, bytes], None],
    ) -> None:
        self.secret, self.on_feed = secret, on_feed
        self.rejected = 0  # deliveries ignored for a wrong signature
        self.lock = threading.Lock()
        # (mode, topic) of requests sent and not yet verified -> what to do when verified
        self.asked: dict[tuple[str, str], Callable[[int], None]] = {}
        self.server = http.server.ThreadingHTTPServer(bind, self._handler())
        self.server.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def expect(self, mode: str, topic: str, confirmed: Callable[[int], None]) -> None:
        """A request is on its way to the hub: confirm its verification once."""
        with self.lock:
            self.asked[(mode, topic)] = confirmed

    def forget(self, mode: str, topic: str) -> None:
        with self.lock:
            self.asked.pop((mode, topic), None)

    def confirm(self, query: dict[str, str]) -> bool:
        """Whether a verification is one the relay asked for (then it is done)."""
        key = (query.get("hub.mode", ""), query.get("hub.topic", ""))
        if "hub.challenge" not in query:
            return False
        with self.lock:
            confirmed = self.asked.pop(key, None)
        if confirmed is None:
            return False
        lease = query.get("hub.lease_seconds", "0")
        confirmed(int(lease) if lease.isdigit() else 0)
        return True

    def start(self) -> None:
        threading.Thread(
            target=self.server.serve_forever, name="relay-callback", daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        callback = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if not callback.confirm(query):
                    return self._reply(404, b"the relay asked for no such thing")
                self._reply(200, query["hub.challenge"].encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return self._reply(413, b"too large")
                body = self.rfile.read(length)
                key = urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1]
                given = self.headers.get("X-Hub-Signature", "")
                if not signature_ok(callback.secret, body, given):
                    with callback.lock:
                        callback.rejected += 1
                    log.warning("relay: ignored a delivery for %r with a wrong signature", key)
                    return self._reply(202, b"")
                try:
                    callback.on_feed(key, body)
                except UnknownFeed:  # a feed no longer followed: 410 ends the subscription (§7)
                    return self._reply(410, b"not followed any more")
                except Exception:
                    log.exception("relay: a delivery for %r could not be stored", key)
                    return self._reply(503, b"try again")
                self._reply(204, b"")

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler
