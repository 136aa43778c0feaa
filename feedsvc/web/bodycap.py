"""Every request body capped before it is read, whichever endpoint reads it (issue 13, finding 2).

A WSGI layer in front of Flask (the feed hot path, in front of it, never reads a body) that
hands Flask a ``wsgi.input`` no read can take past FEEDSVC_MAX_BODY_BYTES: a body announced
larger by ``Content-Length`` is refused at the first read, before a byte of it is taken; a
chunked body (no length) is read up to the cap, and a read past it is refused. Either way the
refusal is Werkzeug's ``RequestEntityTooLarge``, so the endpoint answers ``413`` through
:mod:`feedsvc.web.errors`, and an endpoint that never reads its body never pays for one.

Werkzeug's own ``MAX_CONTENT_LENGTH`` is not used: on a chunked body it silently truncates
``get_data()`` and forms at the cap, and refuses the read that would find the end of a body of
exactly the cap.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from werkzeug.exceptions import RequestEntityTooLarge

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyCap:
    """WSGI middleware: ``wsgi.input`` never yields more than ``max_bytes`` bytes."""

    def __init__(self, app: WSGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = CappedInput(stream, self._allowed(environ), self.max_bytes)
        return self.app(environ, start_response)

    def _allowed(self, environ: dict[str, Any]) -> int:
        """How many bytes may be read: the cap, or -1 when the announced length is over it."""
        try:
            announced = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            announced = -1  # unparseable: Werkzeug reads no body at all (safe fallback)
        return -1 if announced > self.max_bytes else self.max_bytes


class CappedInput(io.RawIOBase):
    """A request body that refuses (413) any read beyond ``allowed`` bytes; -1 refuses all."""

    def __init__(self, stream: BinaryIO, allowed: int, cap: int) -> None:
        self._stream = stream
        self._left = allowed
        self._cap = cap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``; at the cap, look one byte further: the end, or a refusal."""
        if self._left < 0:
            raise self._refusal()
        view = memoryview(buffer).cast("B")
        if self._left == 0:
            if len(view) == 0 or not self._stream.read(1):
                return 0  # the body ended exactly at the cap
            raise self._refusal()
        data = self._stream.read(min(len(view), self._left))
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def _refusal(self) -> RequestEntityTooLarge:
        return RequestEntityTooLarge(
            f"the body is larger than {self._cap} bytes (FEEDSVC_MAX_BODY_BYTES); send less"
        )
