"""WebSub callbacks on 127.0.0.1 for the hub's security and system tests: an honest subscriber
(echoes challenges, records deliveries) and a silent one (accepts connections and never
answers, counting how many it holds at once). Both stop with ``close()``."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

from tests.helpers.servers import QuietHandler

# Spellings of 127.0.0.1 that are different callback hosts to the hub (its per-host limits
# count host names as written), all reaching the same loopback address.
LOOPBACK_SPELLINGS = ("127.1", "2130706433", "0x7f000001", "0177.0.0.1")


class Honest:
    """A subscriber: answers every verification with its challenge, records each delivery's
    arrival (time.monotonic) and body."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[float, bytes]] = []
        self.verifications: list[dict[str, str]] = []
        self.changed = threading.Condition()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def callback(self, path: str = "/honest", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.server_port}{path}"

    def wait(self, count: int, timeout: float) -> bool:
        """Whether ``count`` deliveries have arrived within ``timeout`` seconds."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.deliveries) >= count, timeout)

    def _handler(self) -> type[QuietHandler]:
        sub = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                with sub.changed:
                    sub.verifications.append(query)
                    sub.changed.notify_all()
                self.reply(200, query.get("hub.challenge", "").encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                arrived = time.monotonic()
                self.reply(204)
                with sub.changed:
                    sub.deliveries.append((arrived, body))
                    sub.changed.notify_all()

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """Accepts every connection and never answers; counts connections, and the most it held
    open at once (a connection ends when the other side closes it)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.most = 0
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def callback(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.closed:
                    conn.close()
                    return
                self.accepted += 1
                self.open += 1
                self.most = max(self.most, self.open)
                self.conns.append(conn)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        """Read (and ignore) the request until the caller gives up and closes."""
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        with self.lock:
            self.open -= 1

    def close(self) -> None:
        with self.lock:
            self.closed = True
            conns = list(self.conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        except OSError:
            pass
        self.sock.close()
        for conn in conns:
            try:
                conn.close()
            except OSError:
                pass
