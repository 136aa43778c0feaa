"""The feed hot path: a thin WSGI layer in front of Flask, like Werkzeug's SharedDataMiddleware.

GET and HEAD of ``/feeds/SLUG.FORMAT`` do a lookup, a comparison and a write: the snapshot's
bytes, ETag and header lists were all prepared during regeneration.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from feedsvc.http.conditional import (
    FieldTooLarge,
    accepts_gzip,
    format_http_date,
    is_not_modified,
)
from feedsvc.publish.registry import SnapshotRegistry, SnapshotUnavailable
from feedsvc.publish.snapshot import FormatEntry, Snapshot, Variant
from feedsvc.stats.polling import PollGuard, refusal_text
from feedsvc.web.errors import wsgi_error
from feedsvc.web.limits import LimitCache, LimitError, parse_limit

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
RequestHook = Callable[[str, str, int], None]
# The audience figures' hook (feedsvc.stats.hits.HitRecorder.record): environ, path, status.
HitHook = Callable[[Mapping[str, Any], str, int], None]
# Feeds are read-only (RFC 9110 §15.5.6: a 405 lists the methods that work).
ALLOW = ("Allow", "GET, HEAD")
LIVENESS_PATH = "/livez"


class DateHeader:
    """The Date header value, formatted once per second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> tuple[str, str]:
        now = int(time.time())
        if now != self._second:
            self._value = format_http_date(now)
            self._second = now
        return ("Date", self._value)


def _reset_after_fork(ref: weakref.ref[FeedHotPath]) -> Callable[[], None]:
    """A fork hook that makes the child run before_request again (a weak reference: the hook
    outlives test apps, which must stay collectable)."""

    def reset() -> None:
        hot = ref()
        if hot is not None:
            hot._started = hot.before_request is None

    return reset


class FeedHotPath:
    """Answers feed requests from the registry; hands every other request to Flask."""

    def __init__(
        self,
        app: WSGIApp,
        registry: SnapshotRegistry,
        *,
        max_items: int,
        before_request: Callable[[], None] | None = None,
        on_response: RequestHook | None = None,
        record: HitHook | None = None,
        poll_guard: PollGuard | None = None,
        ttl_minutes: int = 1,
    ) -> None:
        self.app = app
        self.registry = registry
        self.max_items = max_items
        self.before_request = before_request
        self._tally: RequestHook = on_response or _ignore
        self._record = record
        self.poll_guard = poll_guard
        self.ttl_minutes = ttl_minutes
        self.limits = LimitCache()
        self.date = DateHeader()
        # before_request (starting this process's background threads) runs until it has run
        # once in this process, then costs one attribute test per request; a fork resets it.
        self._started = before_request is None
        os.register_at_fork(after_in_child=_reset_after_fork(weakref.ref(self)))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if not self._started and path != LIVENESS_PATH:
            # /livez answers at once, even before the first load (which waits on the database).
            self._start()
        if not path.startswith("/feeds/"):
            return self.app(environ, start_response)
        found = self.registry.routes.get(path)
        if found is None or self.registry.served[found[2]] > found[0].version:
            # Missing, or another worker of this instance already serves a newer version.
            try:
                found = self.registry.current(path)
            except SnapshotUnavailable:
                return self._error(start_response, path, 503, "Feeds are loading.\n")
        if found is None:
            if self.registry.seen_counter < 0:
                # Not loaded yet (a new worker while the database is down): not a 404, which
                # a proxy could cache or a reader could take as the feed being gone.
                return self._error(start_response, path, 503, "Feeds are loading.\n")
            if path in self.registry.known_paths:
                # A feed that exists but has no snapshot yet (a category just created, or the
                # first regeneration still running): not gone either.
                return self._error(start_response, path, 503, "Feed not rendered yet.\n")
            return self._error(start_response, path, 404, "No such feed.\n")
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET" and method != "HEAD":
            return self._error(start_response, path, 405, "Feeds are read-only: use GET.\n", ALLOW)
        snapshot, entry, _slot = found
        query = environ.get("QUERY_STRING")
        if query and "limit" in query and entry.spans is not None:
            try:
                entry = self._limited(snapshot, entry, query)
            except LimitError as exc:
                return self._error(start_response, path, 400, f"{exc}\n")
        variant = (
            entry.gzip if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING")) else entry.identity
        )
        return self._respond(environ, start_response, path, snapshot, variant, method == "HEAD")

    def _start(self) -> None:
        if self.before_request is not None:
            self.before_request()
        self._started = True

    def _limited(self, snapshot: Snapshot, entry: FormatEntry, query: str) -> FormatEntry:
        limit = parse_limit(query, self.max_items)
        if limit is None:
            return entry
        return self.limits.get(snapshot, entry, limit)

    def _respond(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        path: str,
        snapshot: Snapshot,
        variant: Variant,
        head: bool,
    ) -> list[bytes]:
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        # Most polls send back the ETag they were given: one comparison decides them, before
        # the full RFC 9110 evaluation that every other request gets.
        try:
            not_modified = if_none_match == variant.etag or is_not_modified(
                if_none_match,
                environ.get("HTTP_IF_MODIFIED_SINCE"),
                variant.etag,
                snapshot.last_modified,
                snapshot.lm_exact,
            )
        except FieldTooLarge as exc:
            return self._error(start_response, path, 431, f"{exc}\n")
        if not_modified:
            start_response("304 Not Modified", [self.date(), *variant.headers_304])
            self._tally(path, "", 304)
            if self._record is not None:
                self._record(environ, path, 304)
            return []
        if (
            self.poll_guard is not None
            and if_none_match is None
            and "HTTP_IF_MODIFIED_SINCE" not in environ
        ):
            # Polite polling (docs/stats.md): only a full fetch without a validator can be
            # refused; a conditional request is always answered.
            wait = self.poll_guard.check(environ, path)
            if wait:
                return self._refuse(start_response, path, wait)
        start_response("200 OK", [self.date(), *variant.headers])
        self._tally(path, "", 200)
        if self._record is not None:
            self._record(environ, path, 200)
        return [] if head else [variant.body]

    def _refuse(self, start_response: Callable[..., Any], path: str, wait: int) -> list[bytes]:
        """429 with Retry-After (RFC 6585 §4) and how to poll."""
        guard = self.poll_guard
        assert guard is not None
        text = refusal_text(guard.count, guard.seconds, self.ttl_minutes, wait)
        return self._error(start_response, path, 429, text, ("Retry-After", str(wait)))

    def _error(
        self,
        start_response: Callable[..., Any],
        path: str,
        status: int,
        text: str,
        *extra: tuple[str, str],
    ) -> list[bytes]:
        line, headers, body = wsgi_error(status, text, *extra)
        start_response(line, [self.date(), *headers])
        self._tally(path, "", status)
        return [body]


def _ignore(path: str, fmt: str, status: int) -> None:
    """The response hook when metrics are off."""
