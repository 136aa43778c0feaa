"""Starting real servers (make run, make serve, nginx) on free loopback ports, and stopping
exactly the processes we started."""

from __future__ import annotations

import socket
import time

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
