"""Requests to subscriber callbacks: checked addresses, pinned connections, hard time limits.

Each request resolves the callback's host once (:func:`~feedsvc.websub.safety.resolve_checked`)
and connects to one of exactly those checked addresses, while the ``Host`` header and TLS (SNI
and certificate check) use the callback's host name. No proxy from the environment is used and
no redirect is followed: WebSub §5.3.1 and §7 count a 3xx as a failure anyway. What is read of
an answer is capped: its status line and headers at :data:`HEADER_LIMIT` bytes, its body at
:data:`READ_LIMIT`.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from feedsvc.websub.safety import (
    AddressPolicy,
    CallbackRefused,
    Resolver,
    Target,
    callback_host,
    check_callback_url,
    resolve_checked,
)

USER_AGENT = "feedsvc-websub/1"
READ_LIMIT = 64 * 1024  # the hub never needs more of an answer than a challenge echo
HEADER_LIMIT = 16 * 1024  # status line and headers of an answer (http.client alone allows 6 MiB)
FRAMING_LIMIT = 8 * 1024  # chunk-size lines around READ_LIMIT bytes of a chunked body


class CallbackError(Exception):
    """The callback could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Reply:
    """A callback's answer: status and (the start of) the body."""

    status: int
    body: bytes


class AnswerTooLarge(http.client.HTTPException):
    """A callback's answer went past what the hub reads of one (headers or body)."""


class _CappedReader:
    """The response's socket file, refusing to read past a budget of bytes (raising
    AnswerTooLarge), so no answer makes the hub read more than it allows."""

    def __init__(self, raw: Any, budget: int) -> None:
        self.raw = raw
        self.budget = budget

    def allow(self, more: int) -> None:
        """Raise the budget by ``more`` bytes (after the headers: the body's share)."""
        self.budget += more

    def _take(self, data: bytes) -> bytes:
        self._spend(len(data))
        return data

    def _spend(self, count: int) -> None:
        self.budget -= count
        if self.budget < 0:
            raise AnswerTooLarge("the callback's answer is larger than the hub reads")

    def _size(self, size: int | None) -> int:
        # One byte past the budget, so that going past it is seen (and refused).
        room = max(0, self.budget) + 1
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self.raw.read(self._size(size)))

    def read1(self, size: int = -1) -> bytes:
        return self._take(self.raw.read1(self._size(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self.raw.readline(self._size(size)))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._size(len(buffer))]
        count: int = self.raw.readinto(view)
        self._spend(count)
        return count

    def peek(self, size: int = 0) -> bytes:
        return bytes(self.raw.peek(size))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)  # close, fileno, closed, flush: the socket file's own


class _CappedResponse(http.client.HTTPResponse):
    """An HTTPResponse that reads at most HEADER_LIMIT bytes of status line and headers, and
    then at most READ_LIMIT bytes of body (with FRAMING_LIMIT for chunk framing)."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        # http.client types fp as a BufferedReader; the wrapper has every method it calls.
        self.fp = _CappedReader(self.fp, HEADER_LIMIT)  # type: ignore[assignment]

    def begin(self) -> None:
        super().begin()
        if isinstance(self.fp, _CappedReader):  # None once a body-less answer closed it
            self.fp.allow(READ_LIMIT + FRAMING_LIMIT)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address; Host header from the URL."""

    response_class = _CappedResponse

    def __init__(self, host: str, port: int, targets: list[Target], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.targets = targets

    def connect(self) -> None:
        self.sock = _connect(self.targets, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI, certificate check and Host header from the URL."""

    response_class = _CappedResponse

    def __init__(
        self,
        host: str,
        port: int,
        targets: list[Target],
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.targets = targets
        self.tls = context

    def connect(self) -> None:
        raw = _connect(self.targets, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _connect(targets: list[Target], timeout: float | None) -> socket.socket:
    """Connect to the first reachable target (each one already checked)."""
    last: OSError | None = None
    for family, sockaddr in targets:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError("no address to connect to")


class Caller:
    """Makes requests to callback URLs under one address policy and time limit."""

    def __init__(
        self,
        policy: AddressPolicy,
        timeout: float,
        *,
        resolver: Resolver = socket.getaddrinfo,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.resolver = resolver
        self.tls = tls or ssl.create_default_context()

    def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        deadline: float | None = None,
    ) -> Reply:
        """Send one request; CallbackRefused for a forbidden address, CallbackError when the
        callback cannot be reached or is too slow: each read within the timeout, the whole
        exchange within ``deadline`` seconds (default: twice the timeout)."""
        limit = self.timeout * 2 if deadline is None else deadline
        parts = check_callback_url(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        targets = resolve_checked(host, port, self.policy, self.resolver)
        conn = self._connection(parts.scheme, host, port, targets, min(self.timeout, limit))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
        # A callback that trickles bytes would defeat the per-read timeout: a watchdog ends the
        # whole exchange at its deadline.
        fired = threading.Event()
        watchdog = threading.Timer(limit, _abort, args=(conn, fired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request(method, path, body=body if method != "GET" else None, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, _read(response, time.monotonic() + limit))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if fired.is_set():
                raise CallbackError(_too_slow(limit)) from None
            raise CallbackError(_describe(exc, min(self.timeout, limit))) from None
        finally:
            watchdog.cancel()
            conn.close()
        if fired.is_set():
            # Whatever was read when the watchdog cut the connection is not an answer.
            raise CallbackError(_too_slow(limit))
        return reply

    def _connection(
        self, scheme: str, host: str, port: int, targets: list[Target], timeout: float
    ) -> http.client.HTTPConnection:
        if scheme == "https":
            return _PinnedHTTPSConnection(host, port, targets, timeout, self.tls)
        return _PinnedHTTPConnection(host, port, targets, timeout)


def _too_slow(limit: float) -> str:
    return f"the exchange took longer than {limit:g} s"


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most READ_LIMIT bytes of the body, read before the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size < READ_LIMIT and time.monotonic() < deadline:
        chunk = response.read1(READ_LIMIT - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _abort(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    """Unblock a read in progress (shutdown wakes a blocked recv; close alone may not)."""
    fired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _describe(exc: BaseException, timeout: float) -> str:
    """What went wrong, in words that never quote the callback URL (its path and query may
    hold a capability, and this text reaches the log)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, http.client.InvalidURL | ValueError):
        # http.client quotes the whole request target in these messages.
        return "the callback URL holds characters HTTP cannot send (percent-encode them)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def describe_url(url: str) -> str:
    """A callback URL for logs: scheme, host and port, and a short hash of the whole URL that
    tells callbacks of one host apart. Never the path or query: subscribers put capabilities
    there (WebSub §5.1 suggests an unguessable callback URL), and logs travel further."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"an invalid URL #{digest}"
    return f"{parts.scheme}://{callback_host(url)}{port} #{digest}"


__all__ = ["AnswerTooLarge", "CallbackError", "CallbackRefused", "Caller", "Reply", "describe_url"]
