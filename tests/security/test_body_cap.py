"""Issue 13, finding 2 (the global part): a body was read whole by whatever endpoint read it
(``POST /websub`` read 200 MiB before its ``400``). Every body is now capped before it is read,
app-wide: a larger ``Content-Length`` is refused with ``413`` without reading a byte, a chunked
body is cut at the cap, and endpoints that take no body (feeds, pages, health) never read one."""

from __future__ import annotations

import io
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, request
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.helpers.instances import TOKEN, database, seed, settings_env, web_workers
from tests.helpers.servers import wait_for

MAX_BODY = 4096  # FEEDSVC_MAX_BODY_BYTES in this module
HUGE = 1 << 30  # what a hostile client announces, or streams


class Endless(io.RawIOBase):
    """A request body of ``size`` bytes that exist only when read; counts what was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_MAX_BODY_BYTES": str(MAX_BODY)}


@pytest.fixture
def reader(newsroom: Flask) -> Flask:
    """The app with one more endpoint that reads its body, as any future form or upload would."""

    def echo() -> str:
        return f"{len(request.get_data())} bytes\n"

    def form() -> str:
        return f"{sum(len(v) for v in request.form.values())} bytes of fields\n"

    newsroom.add_url_rule("/echo", "echo", echo, methods=["POST"])
    newsroom.add_url_rule("/form", "form", form, methods=["POST"])
    return newsroom


@dataclass
class Answer:
    status: int
    headers: Headers
    body: bytes


def send(
    app: Flask,
    path: str,
    body: Endless,
    *,
    chunked: bool,
    method: str = "POST",
    content_type: str = "application/octet-stream",
) -> Answer:
    """Call the app as a WSGI server would, with ``body`` as wsgi.input: announced by
    Content-Length, or chunked (no length; the server marks a stream it ends, as granian does)."""
    environ = EnvironBuilder(
        path=path, method=method, headers={"Content-Type": content_type}
    ).get_environ()
    environ["wsgi.input"] = body
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    app_iter, status, headers = run_wsgi_app(app, environ)
    try:
        data = b"".join(app_iter)
    finally:
        getattr(app_iter, "close", lambda: None)()
    return Answer(int(status.split()[0]), headers, data)


def test_an_announced_oversized_body_is_refused_unread(reader: Flask) -> None:
    body = Endless(HUGE)
    response = send(reader, "/echo", body, chunked=False)
    assert response.status == 413
    assert response.headers["Content-Type"].startswith("text/plain")  # feedsvc.web.errors
    assert response.headers["Cache-Control"] == "no-store"
    assert body.read_bytes == 0


@pytest.mark.parametrize("size", [HUGE, MAX_BODY + 1])
@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/echo", "application/octet-stream"), ("/form", "application/x-www-form-urlencoded")],
)
def test_a_chunked_body_over_the_cap_is_refused_not_truncated(
    reader: Flask, size: int, path: str, content_type: str
) -> None:
    body = Endless(size)
    response = send(reader, path, body, chunked=True, content_type=content_type)
    assert response.status == 413, response.body
    assert body.read_bytes <= MAX_BODY + 1  # the cap, and the byte that shows it is passed


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_within_the_cap_is_read(reader: Flask, chunked: bool) -> None:
    response = send(reader, "/echo", Endless(MAX_BODY), chunked=chunked)
    assert (response.status, response.body) == (200, f"{MAX_BODY} bytes\n".encode())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/feeds/thoi-su.rss"),
        ("HEAD", "/feeds/thoi-su.atom"),
        ("GET", "/feeds/thoi-su.rss?limit=2"),
        ("POST", "/feeds/thoi-su.json"),
        ("GET", "/feeds/no-such.rss"),
        ("GET", "/feeds/thoi-su.html"),
        ("GET", "/"),
        ("GET", "/feeds.opml"),
        ("GET", "/healthz"),
        ("GET", "/static/site.css"),
        ("POST", "/"),
        ("PUT", "/no-such-page"),
    ],
)
@pytest.mark.parametrize("chunked", [False, True])
def test_endpoints_without_a_body_never_read_one(
    newsroom: Flask, method: str, path: str, chunked: bool
) -> None:
    body = Endless(HUGE)
    response = send(newsroom, path, body, chunked=chunked, method=method)
    assert response.status < 500
    assert body.read_bytes == 0, f"{method} {path} read {body.read_bytes} bytes"


# --- over a real socket, in front of granian (what make serve runs) ------------------------------


def first_answer(sock: socket.socket, timeout: float = 10) -> bytes:
    """The status line and headers the server sent, waiting at most ``timeout`` seconds."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.slow
def test_granian_answers_without_reading_what_no_endpoint_reads(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        env = settings_env(url, FEEDSVC_MAX_BODY_BYTES=str(MAX_BODY))
        seed(env)
        with web_workers(env, tmp_path / "web.log", workers=1) as web:
            wait_for(web.url("/feeds/thoi-su.rss"), timeout=30)
            host, port = web.base.removeprefix("http://").split(":")
            requests_sent = [
                # A GET announcing 1 GiB, then a chunked GET that never ends: answered at once.
                f"GET /feeds/thoi-su.rss HTTP/1.1\r\nHost: x\r\nContent-Length: {HUGE}\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                # The API refuses an announced 1 GiB before reading it.
                f"PUT /api/v1/articles/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}"
                f"\r\nContent-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n",
            ]
            expected = [b"HTTP/1.1 200", b"HTTP/1.1 200", b"HTTP/1.1 413"]
            for head, status in zip(requests_sent, expected, strict=True):
                with socket.create_connection((host, int(port))) as sock:
                    # Only the head and the first bytes of the body: the answer comes without
                    # the rest, which a server reading the body would wait for.
                    first = b"1000\r\n" + b"x" * 0x1000 if "chunked" in head else b"x" * 4096
                    sock.sendall(head.encode() + first)
                    started = time.monotonic()
                    answer = first_answer(sock)
                    assert answer.startswith(status), (head.splitlines()[0], answer[:200])
                    assert time.monotonic() - started < 5
