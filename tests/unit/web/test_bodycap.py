"""The app-wide body cap: reads stop at FEEDSVC_MAX_BODY_BYTES exactly, whether the body came
with a Content-Length or chunked."""

from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from feedsvc.web.bodycap import BodyCap, CappedInput

CAP = 10


def capped(data: bytes, allowed: int = CAP) -> CappedInput:
    return CappedInput(io.BytesIO(data), allowed, CAP)


@pytest.mark.parametrize("size", [0, 1, CAP - 1, CAP])
def test_a_body_up_to_the_cap_reads_whole(size: int) -> None:
    data = bytes(range(size))
    assert capped(data).read() == data
    stream = capped(data)
    assert b"".join(iter(lambda: stream.read(3), b"")) == data
    stream = capped(data)
    assert stream.read(size + 100) == data and stream.read(1) == b""


@pytest.mark.parametrize("size", [CAP + 1, 10 * CAP])
def test_a_read_past_the_cap_is_refused(size: int) -> None:
    with pytest.raises(RequestEntityTooLarge, match="FEEDSVC_MAX_BODY_BYTES"):
        capped(bytes(size)).read()
    stream = capped(bytes(size))
    assert stream.read(CAP) == bytes(CAP)  # up to the cap the body reads as usual
    with pytest.raises(RequestEntityTooLarge):
        stream.read(1)


def test_an_announced_length_over_the_cap_refuses_the_first_read() -> None:
    source = io.BytesIO(bytes(100))
    stream = CappedInput(source, -1, CAP)
    with pytest.raises(RequestEntityTooLarge):
        stream.read(1)
    assert source.tell() == 0  # not a byte taken


@pytest.mark.parametrize(
    ("content_length", "allowed"),
    [(None, CAP), ("", CAP), ("0", CAP), (str(CAP), CAP), (str(CAP + 1), -1), ("x", CAP)],
)
def test_the_middleware_caps_by_the_announced_length(
    content_length: str | None, allowed: int
) -> None:
    seen: dict[str, CappedInput] = {}

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        stream = environ["wsgi.input"]
        assert isinstance(stream, CappedInput)
        seen["stream"] = stream
        return []

    environ: dict[str, object] = {"wsgi.input": io.BytesIO(b"")}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    BodyCap(app, CAP)(environ, lambda *a: None)
    assert seen["stream"]._left == allowed
