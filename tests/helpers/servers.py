"""Starting real servers (make run, make serve, nginx) on free loopback ports, and stopping
exactly the processes we started; the base of the small HTTP peers tests start in-process."""

from __future__ import annotations

import http.server
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench import started, stop  # noqa: F401 - re-exported: one way to run a server, for tests and bench


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0, ok: tuple[int, ...] = (200,)) -> requests.Response:
    """Poll ``url`` until it answers one of ``ok``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code in ok:
                return response
            last = response.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {ok} within {timeout} s (last: {last})")


@contextmanager
def make_run(folder: Path, ready: Sequence[str], **settings: str) -> Iterator[str]:
    """``make run`` on a fresh SQLite file in ``folder`` and a free port, ``settings`` added to
    its environment; yields its base URL once each path of ``ready`` answers 200, in turn (if
    one does not, the failure shows the tail of its output, ``folder``/run.log); with no
    ``ready`` path, at once."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FEEDSVC_DATABASE_URL": f"sqlite:///{folder / 'run.db'}",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_BASE_URL": base,
        **settings,
    }
    log = folder / "run.log"
    with started(["make", "--no-print-directory", "run"], env, log):
        try:
            for path in ready:
                wait_for(base + path, timeout=120)
        except AssertionError as exc:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}\n--- make run output (tail) ---\n{tail}") from None
        yield base


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A test peer's request handler: :meth:`reply` answers in one call, and nothing is logged
    to stderr (a test's output stays its own)."""

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> None:
        """``status`` with ``headers`` (a list of pairs where a name repeats), Content-Length
        and ``body`` (none for HEAD), sent before the handler goes on."""
        self.send_response(status)
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        for name, value in pairs:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *_args: Any) -> None:
        pass
