"""Issue 13, finding 2 (the hub's part): ``POST /websub`` read a form body of any size.

The attack: POST 200 MiB to /websub. The whole body was read (a worker's memory went from 79 to
878 MiB) before the ``400``. Now a Content-Length above the hub's small cap is refused with
``413`` before a byte of the body is read, a chunked body (no Content-Length) is read through a
stream that stops one byte past the cap, and so are oversized request headers (``431``); what
the hub reads of a callback's answer is capped too (headers and body). Over real sockets, with
``make serve``: tests/system/test_hub_abuse.py.
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from feedsvc.websub.client import CallbackError, Caller
from feedsvc.websub.safety import AddressPolicy

from tests.helpers.servers import QuietHandler

MIB = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_WEBSUB_HUB": "self"}


class Endless(io.RawIOBase):
    """A request body of ``size`` bytes, made up as it is read; counts what was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.read_bytes)
        buffer[:count] = b"a" * count
        self.read_bytes += count
        # Reading more than a few MiB is the bug: fail at once rather than fill the memory.
        assert self.read_bytes <= 4 * MIB, "the hub is reading an oversized body"
        return count


def post(app: Flask, body: Endless, chunked: bool, **headers: str) -> tuple[int, str]:
    """POST ``body`` to /websub straight through WSGI: with a Content-Length, or chunked the
    way granian and werkzeug's server hand it over (no length, the stream ends itself)."""
    environ = EnvironBuilder(
        path="/websub", method="POST", content_type=FORM_TYPE, headers=headers
    ).get_environ()
    environ["wsgi.input"] = io.BufferedReader(body)
    environ["REMOTE_ADDR"] = "198.51.100.20"
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    status: list[str] = []
    chunks = app.wsgi_app(environ, lambda s, _h, _e=None: status.append(s))
    text = b"".join(chunks).decode()
    return int(status[0].split()[0]), text


def test_200_mib_with_content_length_is_refused_before_it_is_read(client: Any, app: Flask) -> None:
    body = Endless(200 * MIB)
    status, text = post(app, body, chunked=False)
    assert status == 413 and "larger than 16384 bytes" in text
    assert body.read_bytes == 0


def test_200_mib_chunked_is_refused_after_the_cap(app: Flask) -> None:
    body = Endless(200 * MIB)
    status, _ = post(app, body, chunked=True)
    assert status == 413
    assert body.read_bytes <= 16 * 1024 + 64 * 1024  # the cap, and at most one buffer more


def test_a_form_at_the_cap_is_still_read(app: Flask) -> None:
    body = Endless(16 * 1024)  # "aaaa…": one field with no value, then the usual 400
    for chunked in (False, True):
        status, text = post(app, Endless(body.size), chunked=chunked)
        assert status == 400 and "hub.mode is missing" in text


def test_oversized_request_headers_get_431(app: Flask) -> None:
    status, _ = post(app, Endless(10), chunked=False, **{"X-Padding": "p" * 9000})
    assert status == 431


# --- what the hub reads of a callback's answer ------------------------------------------------


class Bloated(QuietHandler):
    """Answers 200 with the challenge echo after ``extra`` header bytes (64 lines of 16 KiB:
    each line under http.client's own limits, 1 MiB in all)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        lines = self.server.lines  # type: ignore[attr-defined]
        self.reply(200, b"ok", [(f"X-Pad-{n}", "p" * 16 * 1024) for n in range(lines)])


@pytest.fixture
def bloated() -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bloated)
    server.daemon_threads = True
    server.lines = 64
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_callback_answer_with_a_megabyte_of_headers_is_refused(bloated: Any) -> None:
    caller = Caller(AddressPolicy(True), 2)
    url = f"http://127.0.0.1:{bloated.server_port}/cb"
    with pytest.raises(CallbackError, match="larger than the hub reads"):
        caller.request("GET", url)
    bloated.lines = 0  # the same answer without the padding is read as usual
    assert caller.request("GET", url).body == b"ok"
