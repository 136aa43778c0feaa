"""Requests to subscriber callbacks: checked addresses, pinned connections, hard time limits.

Each request resolves the callback's host once (:func:`~feedsvc.websub.safety.resolve_checked`)
and connects to one of exactly those checked addresses, while the ``Host`` header and TLS (SNI
and certificate check) use the callback's host name. No proxy from the environment is used and
no redirect is followed: WebSub §5.3.1 and §7 count a 3xx as a failure anyway.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedsvc.websub.safety import (
    AddressPolicy,
    CallbackRefused,
    Resolver,
    Target,
    check_callback_url,
    resolve_checked,
)

USER_AGENT = "feedsvc-websub/1"
READ_LIMIT = 64 * 1024  # the hub never needs more of an answer than a challenge echo


class CallbackError(Exception):
    """The callback could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Reply:
    """A callback's answer: status and (the start of) the body."""

    status: int
    body: bytes


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address; Host header from the URL."""

    def __init__(self, host: str, port: int, targets: list[Target], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.targets = targets

    def connect(self) -> None:
        self.sock = _connect(self.targets, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI, certificate check and Host header from the URL."""

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
    ) -> Reply:
        """Send one request; CallbackRefused for a forbidden address, CallbackError when the
        callback cannot be reached or is too slow (each read within the timeout, the whole
        exchange within twice it)."""
        parts = check_callback_url(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        targets = resolve_checked(host, port, self.policy, self.resolver)
        conn = self._connection(parts.scheme, host, port, targets)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
        # A callback that trickles bytes would defeat the per-read timeout: a watchdog ends the
        # whole exchange at its deadline.
        fired = threading.Event()
        watchdog = threading.Timer(self.timeout * 2, _abort, args=(conn, fired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request(method, path, body=body if method != "GET" else None, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, _read(response, time.monotonic() + self.timeout * 2))
        except (OSError, http.client.HTTPException) as exc:
            if fired.is_set():
                raise CallbackError(self._too_slow()) from None
            raise CallbackError(_describe(exc, self.timeout)) from None
        finally:
            watchdog.cancel()
            conn.close()
        if fired.is_set():
            # Whatever was read when the watchdog cut the connection is not an answer.
            raise CallbackError(self._too_slow())
        return reply

    def _too_slow(self) -> str:
        return f"the exchange took longer than {self.timeout * 2:g} s"

    def _connection(
        self, scheme: str, host: str, port: int, targets: list[Target]
    ) -> http.client.HTTPConnection:
        if scheme == "https":
            return _PinnedHTTPSConnection(host, port, targets, self.timeout, self.tls)
        return _PinnedHTTPConnection(host, port, targets, self.timeout)


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
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def describe_url(url: str) -> str:
    """A callback URL for logs: scheme, host and path only (the query may hold secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


__all__ = ["CallbackError", "CallbackRefused", "Caller", "Reply", "describe_url"]
