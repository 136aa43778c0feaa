"""200 or 304: RFC 9110 §13 conditional GET/HEAD for feed snapshots, plus gzip negotiation.

Pure functions of strings and ints, called on every feed request: no per-call regex compiles, no
datetime objects. Whenever a header is malformed the answer falls back to sending the full
representation (200, identity), which is never wrong; a wrong 304 or a gzip body a client refused
would be.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

from feedsvc.http.httpdate import format_http_date, parse_http_date

__all__ = [
    "MAX_ACCEPT_ENCODING",
    "FieldTooLarge",
    "accepts_gzip",
    "format_http_date",
    "is_not_modified",
    "parse_http_date",
]

# Preconditions MUST be evaluated (RFC 9110 §13.2.1), and a field "larger than it wishes to
# process" MUST get a 4xx rather than be ignored (§5.4): an If-None-Match longer than this raises
# FieldTooLarge, which callers answer with 431 (RFC 6585 §5). 8 KiB is what the shipped nginx
# lets through (large_client_header_buffers), some 230 of our ETags, and under a millisecond to
# parse, where 400 KiB (granian's limit) took 30-70 ms.
MAX_IF_NONE_MATCH = 8192


class FieldTooLarge(ValueError):
    """A request header longer than this module reads; answer 431 (RFC 6585 §5) naming it."""

    def __init__(self, field: str, size: int, limit: int, hint: str) -> None:
        self.field = field
        super().__init__(
            f"{field} is {size} characters long; this server reads at most {limit}: {hint}"
        )


# One If-None-Match list member (RFC 9110 §8.8.3): entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE,
# etagc = %x21 / %x23-7E / obs-text; "W/" is case-sensitive. Leading "," and OWS are empty list
# elements, which a recipient MUST accept (§5.6.1.2); after the tag only OWS then "," or the end.
_LIST_MEMBER = re.compile(r'[ \t,]*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|\Z)')
_LIST_TAIL = re.compile(r"[ \t,]*\Z")


def is_not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etag: str,
    last_modified: int,
    lm_exact: bool,
    *,
    now: int | None = None,
) -> bool:
    """True when a GET/HEAD with these validators gets 304 Not Modified (RFC 9110 §13.2.2);
    FieldTooLarge when If-None-Match is not ``etag`` itself and longer than MAX_IF_NONE_MATCH."""
    # §13.2.2 step 3: a present If-None-Match decides alone — even when empty or malformed, since
    # step 4 (If-Modified-Since) only runs when If-None-Match "is not present". None = absent.
    if if_none_match is not None:
        return if_none_match == etag or _none_match_hits(if_none_match, etag)
    if if_modified_since is None:
        return False
    return _unmodified_since(if_modified_since, last_modified, lm_exact, now)


def _none_match_hits(field: str, etag: str) -> bool:
    """Whether an If-None-Match value is ``*`` or a valid list naming ``etag`` (weakly)."""
    if len(field) > MAX_IF_NONE_MATCH:
        hint = "send only the entity-tags you hold for this URL"
        raise FieldTooLarge("If-None-Match", len(field), MAX_IF_NONE_MATCH, hint)
    value = field.strip(" \t")
    if value == "*":
        # §13.1.2: "*" is false when a current representation exists, and a snapshot always is one.
        return True
    # §8.8.3.2 weak comparison: the opaque-tags match, whatever either's "W/" prefix.
    opaque = etag[2:] if etag.startswith("W/") else etag
    if opaque not in value:
        return False  # cheap reject on the common miss: any match contains our opaque-tag
    return _list_names(value, opaque)


def _list_names(value: str, opaque: str) -> bool:
    """Whether ``value`` is a well-formed entity-tag list with a member whose opaque-tag matches."""
    # The whole list must parse: with a stray quote or token the split into members is guesswork,
    # and our tag's text could sit inside someone else's, so a malformed list matches nothing.
    found = False
    pos = 0
    while (member := _LIST_MEMBER.match(value, pos)) is not None:
        found = found or member.group(1) == opaque
        pos = member.end()
    return found and _LIST_TAIL.match(value, pos) is not None


def _unmodified_since(field: str, last_modified: int, lm_exact: bool, now: int | None) -> bool:
    """The If-Modified-Since precondition (RFC 9110 §13.1.3) is false, so 304."""
    # Not a valid HTTP-date, several dates ("more than one member") included: MUST ignore.
    date = parse_http_date(field, now=now)
    if date is None or date < last_modified:
        return False
    if date == last_modified and not lm_exact:
        # The feed changed again within its Last-Modified second, so a client holding that second
        # may hold the earlier state: the date is not a strong validator here (§8.8.2.2).
        return False
    # A date later than the server's clock is invalid (RFC 2616 §14.25; RFC 9110 §13.1.3 keeps
    # "in terms of the origin server's clock"): a skewed client must not earn 304s for changes
    # still to come. Checked last so the clock is read only when a 304 is about to be given.
    return date <= (int(time.time()) if now is None else now)


# Longer Accept-Encoding values get identity without being parsed or cached. Real clients send
# a few dozen characters ("gzip, deflate, br, zstd"); a client choosing the value must not choose
# what a worker keeps: 512 cached 400 KiB headers were 200 MiB (issue 13, finding 7). Declining
# to compress is always safe.
MAX_ACCEPT_ENCODING = 1024


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding makes gzip acceptable (RFC 9110 §12.5.3)."""
    # Absent: the RFC allows any coding, but clients that send no Accept-Encoding often cannot
    # decode one, so they get identity. Empty: "does not want any content coding".
    if not accept_encoding or len(accept_encoding) > MAX_ACCEPT_ENCODING:
        return False
    return _accepts_gzip(accept_encoding)


@lru_cache(maxsize=512)
def _accepts_gzip(accept_encoding: str) -> bool:
    """accepts_gzip for a value of bounded length (at most 512 × 1 KiB cached)."""
    # Cached: few distinct values arrive in practice, and the result depends on nothing else.
    lowest: dict[str, int] = {}  # "gzip" / "*" -> smallest weight given: any refusal wins
    for member in accept_encoding.split(","):
        coding, semicolon, weight = member.partition(";")
        coding = coding.strip(" \t").lower()  # content-codings are case-insensitive (§8.4.1)
        if coding == "x-gzip":
            coding = "gzip"  # "A recipient SHOULD consider "x-gzip" to be equivalent" (§8.4.1.3)
        if coding in ("gzip", "*"):
            q = _qvalue(weight) if semicolon else 1000
            lowest[coding] = min(q, lowest.get(coding, q))
    gzip_q = lowest.get("gzip")
    if gzip_q is not None:
        return gzip_q > 0  # "gzip;q=0" refuses it even beside "*"
    return lowest.get("*", 0) > 0  # "*" covers codings "not explicitly listed" (§12.5.3)


def _qvalue(weight: str) -> int:
    """Thousandths of a ``q=`` weight (RFC 9110 §12.4.2); 0 when malformed."""
    # qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); "q" is case-insensitive.
    # Anything else (q=1.5, q=.5, q=abc, another parameter) counts as a refusal: declining to
    # compress is always safe.
    weight = weight.strip(" \t")
    if weight[:2] not in ("q=", "Q=") or not weight.isascii():
        return 0
    whole, _, fraction = weight[2:].partition(".")
    if len(fraction) > 3 or (fraction and not fraction.isdigit()):
        return 0
    if whole == "0":
        return int(fraction.ljust(3, "0"))
    if whole == "1" and fraction.strip("0") == "":
        return 1000
    return 0
