"""``/metrics`` on an address of its own (FEEDSVC_METRICS_BIND), never on the public listener.

Started by the process that regenerates (``flask scheduler``, which ``make serve`` and the
systemd scheduler unit run; ``make run``'s one process): one listener per machine, whose scrape
adds up every worker and the scheduler through prometheus-client's multiprocess files, as
:mod:`feedsvc.ops.metrics` explains. A small threaded HTTP server from the standard library: it
answers ``GET``/``HEAD /metrics`` and ``404`` to anything else.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from feedsvc.config import ConfigError

log = logging.getLogger(__name__)

PATH = "/metrics"
# A scraper that stalls must not hold a thread for long (Prometheus' own timeout is 10 s).
REQUEST_TIMEOUT_SECONDS = 10.0

Exposition = Callable[[str | None], tuple[bytes, str]]  # Accept -> (body, Content-Type)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a scrape in progress never holds up the process's exit
    block_on_close = False

    def __init__(self, address: tuple[str, int], expose: Exposition) -> None:
        # IPv6 hosts (FEEDSVC_METRICS_BIND=[::1]:9464) need an IPv6 socket.
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.expose = expose
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "feedsvc-metrics"
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_SECONDS

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        if urlsplit(self.path).path != PATH:
            self._send(404, b"Not found: this address serves /metrics only.\n", "text/plain")
            return
        try:
            body, content_type = self.server.expose(self.headers.get("Accept"))
        except Exception:
            log.exception("metrics listener: the scrape failed")
            self._send(500, b"The scrape failed; see the service's log.\n", "text/plain")
            return
        self._send(200, body, content_type, head)

    def _send(self, status: int, body: bytes, content_type: str, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - its signature
        log.debug("metrics listener: " + format, *args)


class MetricsListener:
    """A daemon thread serving ``/metrics`` on ``bind``; :meth:`stop` closes it."""

    def __init__(self, bind: tuple[str, int], expose: Exposition) -> None:
        host, port = bind
        try:
            self._server = _Server((host, port), expose)
        except OSError as exc:
            raise ConfigError(
                f"FEEDSVC_METRICS_BIND={host}:{port}: cannot listen there ({exc.strerror}); "
                "choose a free port on an address of this machine, or unset it"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="feedsvc-metrics-listener", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) listened on: the port is the real one when 0 was asked for."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> MetricsListener:
        """Serve on the daemon thread; returns self."""
        self._thread.start()
        log.info("metrics: /metrics on http://%s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()  # waits for serve_forever to return: only when it runs
            self._thread.join(timeout=5)
        self._server.server_close()


def start_listener(bind: tuple[str, int] | None, expose: Exposition) -> MetricsListener | None:
    """A started listener on ``bind`` (FEEDSVC_METRICS_BIND), or None when it is unset."""
    return None if bind is None else MetricsListener(bind, expose).start()
