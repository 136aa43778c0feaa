"""Issue 13, finding 2 (the global part): a body was read whole by whatever endpoint read it
(``POST /websub`` read 200 MiB before its ``400``). Every body is now capped before it is read,
app-wide: a larger ``Content-Length`` is refused with ``413`` without reading a byte, a chunked
body is cut at the cap, and endpoints that take no body (feeds, pages, health) never read one."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from flask import Flask, request
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

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
