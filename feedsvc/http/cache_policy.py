"""What shared caches are told: the ``Cache-Control`` of feeds and pages, and their surrogate keys.

``public, max-age=N`` is the interface's, for every cache (browsers included); the directives for
shared caches only follow it (RFC 9111 §5.2.2.10 ``s-maxage``; RFC 5861 ``stale-while-revalidate``
and ``stale-if-error``). Surrogate keys name what a response shows, so a cache in front can drop
every variant of a feed (each encoding, each ``?limit``) at once: Fastly reads ``Surrogate-Key``,
Varnish's xkey vmod ``xkey`` (both space-separated), Cloudflare ``Cache-Tag`` (comma-separated).
Everything here is computed once per snapshot (or page), never per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The headers a cache reads its keys from, by the name a setting gives (case as sent).
SURROGATE_HEADERS = {"surrogate-key": "Surrogate-Key", "xkey": "xkey", "cache-tag": "Cache-Tag"}
EVERYTHING = "feedsvc"  # on every response: purges all this service's entries at once
PAGES = ("index", "opml")  # the pages built from the categories: "/" and "/feeds.opml"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """The shared-cache directives and the surrogate-key headers of every feed and page."""

    shared_max_age: int | None = None  # s-maxage; None: not sent (shared caches use max-age)
    stale_while_revalidate: int = 0  # 0: not sent
    stale_if_error: int = 0  # 0: not sent
    surrogate_headers: tuple[str, ...] = ()  # header names, as in SURROGATE_HEADERS' values

    def cache_control(self, max_age: int) -> str:
        """``public, max-age=N`` and then the directives for shared caches."""
        parts = [f"public, max-age={max_age}"]
        if self.shared_max_age is not None:
            parts.append(f"s-maxage={self.shared_max_age}")
        if self.stale_while_revalidate:
            parts.append(f"stale-while-revalidate={self.stale_while_revalidate}")
        if self.stale_if_error:
            parts.append(f"stale-if-error={self.stale_if_error}")
        return ", ".join(parts)

    def surrogate(self, keys: Iterable[str]) -> tuple[tuple[str, str], ...]:
        """The surrogate-key header fields naming ``keys``."""
        return surrogate_fields(self.surrogate_headers, tuple(keys))


def surrogate_fields(names: Iterable[str], keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """One field per header name: Cloudflare's ``Cache-Tag`` comma-separated, others spaced."""
    return tuple((name, (",".join if name == "Cache-Tag" else " ".join)(keys)) for name in names)


def feed_key(slug: str) -> str:
    """The key of every format, encoding and ``?limit`` of feed ``slug`` (a category or all)."""
    return f"feed.{slug}"


def feed_keys(slug: str, fmt: str) -> tuple[str, str, str, str]:
    """The keys of ``/feeds/SLUG.FMT``: everything, the feed, this format of it, the format."""
    return (EVERYTHING, feed_key(slug), f"feed.{slug}.{fmt}", f"format.{fmt}")


def page_key(page: str) -> str:
    """The key of a page built from the categories (``index`` or ``opml``)."""
    return f"page.{page}"


def page_keys(page: str) -> tuple[str, str]:
    """The keys of ``/`` (``index``) or ``/feeds.opml`` (``opml``)."""
    return (EVERYTHING, page_key(page))
