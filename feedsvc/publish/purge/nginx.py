"""The shipped nginx site (deploy/nginx/feedsvc.conf): its entries of a feed refreshed in place.

Debian's cache-purge module (libnginx-mod-http-cache-purge 2.3) crashes nginx 1.22's workers on
every PURGE to a proxy cache, so the site does with nginx core what a purge would: a ``HEAD``
from this machine carrying ``X-Feedsvc-Refresh: 1`` skips the entry, fetches the feed from
feedsvc (nginx turns the HEAD into a GET) and stores the answer in its place. Readers never
miss: they get the old entry until the new one is stored, then the new one.

The site keeps one entry per path and encoding (``?limit`` feeds are not stored, other query
parameters share the plain entry), so a feed is its four formats in two encodings, and the
category pages (``/``, ``/feeds.opml``) two each: 20 requests for a publish (a category and
``all``), on one kept-alive local connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from feedsvc.publish.purge.base import Endpoint, PurgeError, status_error
from feedsvc.render import PAGES, RENDERERS

ENCODINGS = ("identity", "gzip")  # what the site's map reduces Accept-Encoding to: "" or gzip
PAGE_PATHS = ("/", "/feeds.opml")
REFRESH = "X-Feedsvc-Refresh"


class NginxPurge:
    """Refreshes, from an address the site trusts, every entry nginx may hold for a feed."""

    name = "nginx"

    def __init__(self, url: str, timeout: float, base_url: str) -> None:
        self.endpoint = Endpoint(url, timeout)
        # The site's server_name is the public host: a refresh must reach that server block.
        self.host = urlsplit(base_url).netloc

    def requests(self, feeds: Sequence[str]) -> Iterator[tuple[str, str]]:
        """Every (path, encoding) the site may hold for ``feeds``, and the category pages."""
        for slug in feeds:
            for fmt in (*RENDERERS, *PAGES):
                for encoding in ENCODINGS:
                    yield f"/feeds/{slug}.{fmt}", encoding
        for path in PAGE_PATHS:
            for encoding in ENCODINGS:
                yield path, encoding

    def close(self) -> None:
        """Close the kept connection."""
        self.endpoint.close()

    def purge(self, feeds: Sequence[str]) -> None:
        """Refresh each entry; the site must answer it from feedsvc (not from its cache)."""
        for path, encoding in self.requests(feeds):
            headers = {"Host": self.host, "Accept-Encoding": encoding, REFRESH: "1"}
            status, answer_headers, _ = self.endpoint.send("HEAD", path, headers)
            if answer_headers.get("x-cache-status", "BYPASS") != "BYPASS":
                raise PurgeError(
                    f"nginx answered a refresh of {path} from its cache: use the shipped site "
                    "(deploy/nginx/feedsvc.conf) and reach it from 127.0.0.1 or ::1",
                    retry=False,
                )
            if status in (200, 404):  # 404: a category deleted since; nothing is stored
                continue
            raise status_error("nginx", status, f"refreshing {path} ({encoding})")
