"""The purge interface, and the one HTTP exchange every adapter makes (a kept-alive connection)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from feedsvc.http.cache_policy import PAGES, feed_key, page_key

MAX_ANSWER = 64 * 1024  # of an answer's body, what an adapter reads (error texts, JSON)


class PurgeError(Exception):
    """A purge that did not happen. ``retry``: worth trying again (a timeout, a refused
    connection, a 5xx or 429); otherwise a setting is wrong (a 401, 403 or 404), and only an
    operator can fix it."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class PurgeTarget(Protocol):
    """A cache in front of feedsvc, which forgets every variant of the feeds it is given."""

    name: str  # for the logs: "nginx", "varnish", "fastly", "cloudflare"

    def purge(self, feeds: Sequence[str]) -> None:
        """Drop every format, encoding and ``?limit`` of each feed (a category's slug or
        ``all``) and the pages built from the categories; raise PurgeError when it did not."""
        ...

    def close(self) -> None:
        """Close the connection kept to the cache or API."""
        ...


def purge_keys(feeds: Sequence[str]) -> list[str]:
    """The surrogate keys of ``feeds`` and of the category pages (``/``, ``/feeds.opml``)."""
    return [feed_key(slug) for slug in feeds] + [page_key(page) for page in PAGES]


def status_error(who: str, status: int, detail: str) -> PurgeError:
    """The PurgeError of an answer that is no success: retried for 429 and 5xx only."""
    retry = status == 429 or status >= 500
    return PurgeError(f"{who} answered {status}: {detail}".rstrip(": "), retry=retry)


def excerpt(body: bytes) -> str:
    """The start of an answer's body, for a message."""
    return body[:200].decode("utf-8", "replace").strip()


def parse_json(body: bytes) -> Any:
    """An API's JSON answer, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def batches(items: list[str], size: int) -> list[list[str]]:
    """``items`` in runs of at most ``size``, one per API request."""
    return [items[start : start + size] for start in range(0, len(items), size)]


class Answer(NamedTuple):
    """What a cache or API answered: status, headers (names lower-cased), start of the body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Endpoint:
    """One HTTP origin (``http://host:port``), its connection kept alive between purges."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        """The status, headers and (at most MAX_ANSWER bytes of) body of one exchange. A connection
        closed by the peer while idle is opened again once; any other failure is a PurgeError
        worth retrying."""
        with self._lock:
            for fresh in (self._conn is None, True):
                conn = self._connection()
                try:
                    conn.request(method, self.prefix + path, body=body, headers=dict(headers))
                    response = conn.getresponse()
                    data = response.read(MAX_ANSWER)
                    if response.will_close or response.length:
                        self.close_locked()  # closed, or more body than read: not reusable
                    names = {k.lower(): v for k, v in response.getheaders()}
                    return Answer(response.status, names, data)
                except (http.client.HTTPException, OSError) as exc:
                    self.close_locked()
                    if fresh:
                        raise PurgeError(
                            f"{self.host}:{self.port}: {exc or type(exc).__name__}"
                        ) from exc
            raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = kind(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close_locked(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the kept connection."""
        with self._lock:
            self.close_locked()
