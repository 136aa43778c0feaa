"""A local stand-in for a CDN's API (Fastly, Cloudflare) or a cache's purge endpoint: records
each request as sent (method, path, headers, body) and answers from a script, in turn."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field

from tests.helpers.servers import QuietHandler


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    delay: float = 0.0  # seconds before answering (a timeout test)
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()  # more header fields of the answer


@dataclass
class FakeAPI:
    """Answers ``script`` in turn, then ``default``; ``received`` holds every request."""

    script: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: Reply(200))
    received: list[Received] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> FakeAPI:
        api = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                api.received.append(Received(self.command, self.path, headers, body))
                reply = api.script.pop(0) if api.script else api.default
                if reply.delay:
                    time.sleep(reply.delay)
                self.reply(
                    reply.status, reply.body, [("Content-Type", reply.content_type), *reply.headers]
                )

            do_GET = do_POST = do_PURGE = do_HEAD = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
