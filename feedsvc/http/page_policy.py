"""The browser protections of an HTML page (issue 13, finding 11): a Content-Security-Policy
without script, frames refused, no Referer sent.

The pages need no script at all, so none may run (``default-src 'none'``, no ``script-src``):
markup injected through a record could not execute. Styles come only from the service
(``FEEDSVC_BASE_URL``'s origin: every URL in a page is built from it, whichever host the reader
asked). Images come from there and from the origins of the photos that page shows, listed per
page when it is rendered, so the newspaper's image hosts need no setting and no other host can
be loaded from. ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (for browsers without
CSP level 2) keep the pages out of frames; ``Referrer-Policy: no-referrer`` keeps what a reader
reads from the hosts of the photos and links (and an image host's hot-link rule, which lets an
empty Referer through, still serves the photos).

Pure functions of strings, shared by publish/ (feed pages, prepared in the snapshot) and web/
(the index, and any HTML answer Flask sends).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["Headers", "content_security_policy", "legacy_page_headers", "origin", "page_headers"]

Headers = tuple[tuple[str, str], ...]

# CSP host-source (CSP3 §2.3.1): DNS labels or an IPv4 address; nothing that could end the
# directive (";", ",", spaces) or the header.
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_FIXED = (
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL as a CSP source; None when it has
    none. A host CSP cannot name (an IPv6 literal) gives the scheme alone (``https:``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return f"{scheme}:"
    if not _HOST.fullmatch(host):
        return f"{scheme}:"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def content_security_policy(base_url: str, image_urls: Iterable[str] = ()) -> str:
    """The policy of a page served from ``base_url`` that shows ``image_urls``."""
    own = origin(base_url) or "'self'"
    images = sorted({found for url in image_urls if (found := origin(url))} - {own})
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src {own}",
            "img-src " + " ".join([own, *images]),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers(base_url: str, image_urls: Iterable[str] = ()) -> Headers:
    """The headers that protect a page: CSP, X-Frame-Options, Referrer-Policy."""
    return (("Content-Security-Policy", content_security_policy(base_url, image_urls)), *_FIXED)


def legacy_page_headers() -> Headers:
    """For a page prepared before pages had a policy (its snapshot stored none): no script and
    no frames all the same; styles and images from any web origin, since the page's own are
    not known until its feed is rendered again."""
    policy = (
        "default-src 'none'; style-src http: https:; img-src http: https:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return (("Content-Security-Policy", policy), *_FIXED)
