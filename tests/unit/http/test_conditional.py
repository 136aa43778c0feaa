"""Table tests for the 200-vs-304 decision, HTTP-date parsing/formatting and gzip negotiation."""

from __future__ import annotations

import calendar
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate

import pytest

from feedsvc.http.conditional import (
    accepts_gzip,
    format_http_date,
    is_not_modified,
    parse_http_date,
)

ETAG = '"3f2a9c"'
LM = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
NOW = LM + 3600  # Tue, 14 Nov 2023 23:13:20 GMT

IMF_EQUAL = "Tue, 14 Nov 2023 22:13:20 GMT"
IMF_OLDER = "Tue, 14 Nov 2023 22:13:19 GMT"
IMF_NEWER = "Tue, 14 Nov 2023 22:13:21 GMT"
IMF_NOW = "Tue, 14 Nov 2023 23:13:20 GMT"
IMF_FUTURE = "Tue, 14 Nov 2023 23:13:21 GMT"  # one second after NOW
RFC850_EQUAL = "Tuesday, 14-Nov-23 22:13:20 GMT"
RFC850_OLDER = "Tuesday, 14-Nov-23 22:13:19 GMT"
RFC850_NEWER = "Tuesday, 14-Nov-23 22:13:21 GMT"
RFC850_FUTURE = "Tuesday, 14-Nov-23 23:13:21 GMT"
ASCTIME_EQUAL = "Tue Nov 14 22:13:20 2023"
ASCTIME_OLDER = "Tue Nov 14 22:13:19 2023"
ASCTIME_NEWER = "Tue Nov 14 22:13:21 2023"
ASCTIME_FUTURE = "Tue Nov 14 23:13:21 2023"

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

NOT_MODIFIED, SEND = True, False

# (If-None-Match, If-Modified-Since, lm_exact, expected 304?)
CASES = [
    # --- If-None-Match decides when present (RFC 9110 §13.2.2 step 3) ---
    pytest.param(ETAG, None, True, NOT_MODIFIED, id="inm-exact"),
    pytest.param('W/"3f2a9c"', None, True, NOT_MODIFIED, id="inm-weak-prefix-matches-strong"),
    pytest.param('"a", "3f2a9c", "b"', None, True, NOT_MODIFIED, id="inm-list-middle"),
    pytest.param('"a","3f2a9c","b"', None, True, NOT_MODIFIED, id="inm-list-no-spaces"),
    pytest.param('"a" ,  "3f2a9c"  , "b"', None, True, NOT_MODIFIED, id="inm-list-odd-spaces"),
    pytest.param('"a", W/"3f2a9c", "b"', None, True, NOT_MODIFIED, id="inm-list-weak-middle"),
    pytest.param('"a", "b", "3f2a9c"', None, True, NOT_MODIFIED, id="inm-list-last"),
    pytest.param('\t"3f2a9c" ', None, True, NOT_MODIFIED, id="inm-surrounding-ows"),
    pytest.param(', "3f2a9c",,', None, True, NOT_MODIFIED, id="inm-empty-list-elements"),
    pytest.param('"x,y", "3f2a9c"', None, True, NOT_MODIFIED, id="inm-comma-inside-other-tag"),
    pytest.param('"\xe9t\xe9", "3f2a9c"', None, True, NOT_MODIFIED, id="inm-obs-text-other-tag"),
    pytest.param("*", None, True, NOT_MODIFIED, id="inm-star"),
    pytest.param(" * ", None, True, NOT_MODIFIED, id="inm-star-ows"),
    pytest.param("*", IMF_OLDER, True, NOT_MODIFIED, id="inm-star-beats-old-ims"),
    pytest.param(ETAG, IMF_OLDER, True, NOT_MODIFIED, id="inm-match-beats-old-ims"),
    pytest.param(ETAG, "garbage", True, NOT_MODIFIED, id="inm-match-beats-bad-ims"),
    pytest.param(ETAG, IMF_EQUAL, False, NOT_MODIFIED, id="inm-match-ignores-lm-exact"),
    pytest.param('"other"', None, True, SEND, id="inm-no-match"),
    pytest.param('"other"', IMF_EQUAL, True, SEND, id="inm-no-match-fresh-ims-equal"),
    pytest.param('"other"', IMF_NEWER, True, SEND, id="inm-no-match-fresh-ims-newer"),
    pytest.param('"a", W/"b"', IMF_NOW, True, SEND, id="inm-list-no-match-fresh-ims"),
    pytest.param("3f2a9c", None, True, SEND, id="inm-unquoted-our-tag"),
    pytest.param("garbage", IMF_EQUAL, True, SEND, id="inm-garbage-still-decides"),
    pytest.param("", IMF_EQUAL, True, SEND, id="inm-empty-still-decides"),
    pytest.param(",", IMF_EQUAL, True, SEND, id="inm-only-commas"),
    pytest.param('w/"3f2a9c"', None, True, SEND, id="inm-lowercase-weak-prefix"),
    pytest.param('W/ "3f2a9c"', None, True, SEND, id="inm-space-after-weak-prefix"),
    pytest.param('"3f2a9c', None, True, SEND, id="inm-unterminated"),
    pytest.param('"3F2A9C"', None, True, SEND, id="inm-case-differs"),
    pytest.param('"3f2a9c0"', None, True, SEND, id="inm-longer-tag"),
    pytest.param('"x3f2a9c"', None, True, SEND, id="inm-tag-containing-ours"),
    pytest.param('"a" "3f2a9c"', None, True, SEND, id="inm-missing-comma"),
    pytest.param('"a", junk, "3f2a9c"', None, True, SEND, id="inm-list-with-garbage-member"),
    pytest.param('"a b", "3f2a9c"', None, True, SEND, id="inm-space-inside-other-tag"),
    pytest.param('"*"', None, True, SEND, id="inm-quoted-star"),
    pytest.param('*, "3f2a9c"', None, True, SEND, id="inm-star-in-list"),
    pytest.param('"3f2a9c";x', None, True, SEND, id="inm-trailing-junk"),
    pytest.param('""', IMF_EQUAL, True, SEND, id="inm-empty-tag"),
    # --- If-Modified-Since, only without If-None-Match (§13.1.3) ---
    pytest.param(None, None, True, SEND, id="no-validators"),
    pytest.param(None, IMF_EQUAL, True, NOT_MODIFIED, id="ims-imf-equal"),
    pytest.param(None, IMF_OLDER, True, SEND, id="ims-imf-older"),
    pytest.param(None, IMF_NEWER, True, NOT_MODIFIED, id="ims-imf-newer"),
    pytest.param(None, "Sun, 06 Nov 1994 08:49:37 GMT", True, SEND, id="ims-imf-much-older"),
    pytest.param(None, IMF_NOW, True, NOT_MODIFIED, id="ims-imf-equal-to-now"),
    pytest.param(None, IMF_FUTURE, True, SEND, id="ims-imf-future-ignored"),
    pytest.param(None, "Fri, 01 Jan 2100 00:00:00 GMT", True, SEND, id="ims-far-future-ignored"),
    pytest.param(None, RFC850_EQUAL, True, NOT_MODIFIED, id="ims-rfc850-equal"),
    pytest.param(None, RFC850_OLDER, True, SEND, id="ims-rfc850-older"),
    pytest.param(None, RFC850_NEWER, True, NOT_MODIFIED, id="ims-rfc850-newer"),
    pytest.param(None, RFC850_FUTURE, True, SEND, id="ims-rfc850-future-ignored"),
    pytest.param(None, ASCTIME_EQUAL, True, NOT_MODIFIED, id="ims-asctime-equal"),
    pytest.param(None, ASCTIME_OLDER, True, SEND, id="ims-asctime-older"),
    pytest.param(None, ASCTIME_NEWER, True, NOT_MODIFIED, id="ims-asctime-newer"),
    pytest.param(None, ASCTIME_FUTURE, True, SEND, id="ims-asctime-future-ignored"),
    # Last-Modified second not exact: two changes within it (§8.8.2.2).
    pytest.param(None, IMF_EQUAL, False, SEND, id="ims-equal-lm-inexact"),
    pytest.param(None, RFC850_EQUAL, False, SEND, id="ims-rfc850-equal-lm-inexact"),
    pytest.param(None, ASCTIME_EQUAL, False, SEND, id="ims-asctime-equal-lm-inexact"),
    pytest.param(None, IMF_NEWER, False, NOT_MODIFIED, id="ims-newer-lm-inexact"),
    pytest.param(None, IMF_OLDER, False, SEND, id="ims-older-lm-inexact"),
    # Whitespace around the field value is not part of it (§5.5).
    pytest.param(None, IMF_EQUAL + " ", True, NOT_MODIFIED, id="ims-trailing-space"),
    pytest.param(None, "\t" + IMF_EQUAL + "\t", True, NOT_MODIFIED, id="ims-surrounding-tabs"),
    pytest.param(None, ASCTIME_EQUAL + "  ", True, NOT_MODIFIED, id="ims-asctime-trailing"),
    # Several dates: "more than one member" (§13.1.3), however they were joined.
    pytest.param(None, f"{IMF_EQUAL}, {IMF_EQUAL}", True, SEND, id="ims-two-imf-dates"),
    pytest.param(None, f"{IMF_NEWER},{IMF_OLDER}", True, SEND, id="ims-two-imf-no-space"),
    pytest.param(None, f"{RFC850_EQUAL}, {RFC850_EQUAL}", True, SEND, id="ims-two-rfc850"),
    pytest.param(None, f"{ASCTIME_EQUAL}, {ASCTIME_EQUAL}", True, SEND, id="ims-two-asctime"),
    pytest.param(None, f"{IMF_EQUAL}, {ASCTIME_EQUAL}", True, SEND, id="ims-imf-and-asctime"),
    # Not a valid HTTP-date: ignored.
    pytest.param(None, "", True, SEND, id="ims-empty"),
    pytest.param(None, "garbage", True, SEND, id="ims-garbage"),
    pytest.param(None, str(LM), True, SEND, id="ims-unix-seconds"),
    pytest.param(None, "2023-11-14T22:13:20Z", True, SEND, id="ims-iso8601"),
    pytest.param(None, "Tue, 14 Nov 2023 22:13:20 UTC", True, SEND, id="ims-zone-utc"),
    pytest.param(None, "Tue, 14 Nov 2023 22:13:20 +0000", True, SEND, id="ims-numeric-zone"),
    pytest.param(None, "Wed, 14 Nov 2023 22:13:20 GMT", True, SEND, id="ims-wrong-day-name"),
    pytest.param(None, "Tue, 14 nov 2023 22:13:20 GMT", True, SEND, id="ims-lowercase-month"),
    pytest.param(None, "Tue, 14 NOV 2023 22:13:20 GMT", True, SEND, id="ims-uppercase-month"),
    pytest.param(None, "TUE, 14 Nov 2023 22:13:20 GMT", True, SEND, id="ims-uppercase-day"),
    pytest.param(None, "Tue, 14 Nov 2023 22:13:20 gmt", True, SEND, id="ims-lowercase-gmt"),
    pytest.param(None, "tuesday, 14-Nov-23 22:13:20 GMT", True, SEND, id="ims-rfc850-lowercase"),
    pytest.param(None, "Tue Nov 14 22:13:20 2023 GMT", True, SEND, id="ims-asctime-with-zone"),
    pytest.param(None, "Tue,  14 Nov 2023 22:13:20 GMT", True, SEND, id="ims-double-space"),
    pytest.param(None, "Tue, 14 Nov 23 22:13:20 GMT", True, SEND, id="ims-imf-two-digit-year"),
]


@pytest.mark.parametrize(("inm", "ims", "lm_exact", "expected"), CASES)
def test_is_not_modified(inm: str | None, ims: str | None, lm_exact: bool, expected: bool) -> None:
    assert is_not_modified(inm, ims, ETAG, LM, lm_exact, now=NOW) is expected


@pytest.mark.parametrize(
    ("ims", "expected"),
    [
        pytest.param(format_http_date(LM), NOT_MODIFIED, id="past-date"),
        pytest.param(format_http_date(int(time.time()) + 3600), SEND, id="future-date"),
    ],
)
def test_is_not_modified_reads_the_real_clock_by_default(ims: str, expected: bool) -> None:
    assert is_not_modified(None, ims, ETAG, LM, True) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The three forms of RFC 9110 §5.6.7's own example.
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),
        ("Sun Nov  6 08:49:37 1994", 784111777),
        ("Sun Nov 06 08:49:37 1994", 784111777),  # date3 also allows 2DIGIT
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Wed, 31 Dec 1969 23:59:59 GMT", -1),
        ("Sat, 01 Jan 0000 00:00:00 GMT", -62167219200),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799),
        ("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000),
        ("Tue, 29 Feb 2000 00:00:00 GMT", 951782400),
        ("Sat, 31 Dec 2016 23:59:60 GMT", 1483228799),  # leap second counts as :59
        ("Sat, 31 Dec 2016 23:59:59 GMT", 1483228799),
        ("Wed, 29 Feb 2023 12:00:00 GMT", None),  # 2023 is not a leap year
        ("Thu, 29 Feb 1900 00:00:00 GMT", None),  # nor is 1900
        ("Thu, 31 Nov 2023 00:00:00 GMT", None),
        ("Sun, 00 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 24:00:00 GMT", None),
        ("Sun, 06 Nov 1994 08:60:00 GMT", None),
        ("Sun, 06 Nov 1994 08:49:60 GMT", None),  # :60 only as 23:59:60
        ("Sun, +6 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:3x GMT", None),
        ("Sun, \u0660\u0666 Nov 1994 08:49:37 GMT", None),  # Arabic-Indic digits
        ("Sun, 06 Nov 1994 08:49:37 GMT\x00", None),
        ("Sunday, 06 Nov 1994 08:49:37 GMT", None),  # long day name in IMF-fixdate
        ("Sun, 06-Nov-94 08:49:37 GMT", None),  # short day name in RFC 850
        ("Sunday, 06-Nov-1994 08:49:37 GMT", None),
        ("Sunday, 6-Nov-94 08:49:37 GMT", None),
        ("Sunday 06-Nov-94 08:49:37 GMT", None),
        ("Sun Nov 6 08:49:37 1994", None),  # asctime day needs SP DIGIT or 2DIGIT
        ("Sun Nov  6 08:49:37 94", None),
        ("Sun Nov  6 08:49:37 1994\t", 784111777),
        (" Sun, 06 Nov 1994 08:49:37 GMT ", 784111777),
        ("Sun Nov  6 08:49:37 1994\n", None),
        ("Sun, 06 Nov 1994", None),
        (",", None),
        ("", None),
    ],
)
def test_parse_http_date(value: str, expected: int | None) -> None:
    assert parse_http_date(value, now=NOW) == expected


def _rfc850(moment: datetime) -> str:
    """An RFC 850 date built with the standard library, independently of the parser."""
    day, month = LONG_DAYS[moment.weekday()], MONTHS[moment.month - 1]
    return f"{day}, {moment.day:02d}-{month}-{moment.year % 100:02d} {moment:%H:%M:%S} GMT"


def _asctime(moment: datetime) -> str:
    """An asctime date built with the standard library, independently of the parser."""
    day, month = DAYS[moment.weekday()], MONTHS[moment.month - 1]
    return f"{day} {month} {moment.day:2d} {moment:%H:%M:%S} {moment.year:04d}"


CLOCK_2026 = calendar.timegm((2026, 11, 26, 10, 0, 0))
CLOCK_2070 = calendar.timegm((2070, 1, 1, 0, 0, 0))


@pytest.mark.parametrize(
    ("now", "moment"),
    [
        # moment: the instant an RFC 850 date with its two-digit year must be read as.
        (CLOCK_2026, datetime(1994, 11, 6, 8, 49, 37)),
        (CLOCK_2026, datetime(2026, 11, 26, 10, 0, 0)),
        (CLOCK_2026, datetime(2026, 12, 31, 23, 59, 59)),  # later this year: still 2026
        (CLOCK_2026, datetime(2025, 1, 1, 0, 0, 0)),
        (CLOCK_2026, datetime(2000, 1, 1, 0, 0, 0)),  # 2100 is more than 50 years ahead
        (CLOCK_2026, datetime(2050, 6, 1, 0, 0, 0)),
        (CLOCK_2026, datetime(2076, 11, 26, 9, 59, 59)),  # just under 50 years ahead
        (CLOCK_2026, datetime(2076, 11, 26, 10, 0, 0)),  # exactly 50: not "more than"
        (CLOCK_2026, datetime(1976, 11, 26, 10, 0, 1)),  # as 2076 it would be just over 50
        (CLOCK_2026, datetime(1977, 1, 1, 0, 0, 0)),
        (CLOCK_2070, datetime(2100, 3, 1, 0, 0, 0)),  # 30 years ahead: the future century
        (CLOCK_2070, datetime(2021, 3, 1, 0, 0, 0)),  # 2121 would be 51 years ahead
    ],
)
def test_rfc850_two_digit_year(now: int, moment: datetime) -> None:
    written = _rfc850(moment)
    assert parse_http_date(written, now=now) == calendar.timegm(moment.timetuple()), written


def _sample_timestamps() -> list[int]:
    """Edges of the calendar plus a seeded spread over years 0001-9999."""
    rng = random.Random(9110)
    low = calendar.timegm((1, 1, 1, 0, 0, 0))
    high = calendar.timegm((9999, 12, 31, 23, 59, 59))
    edges = [0, -1, 1, LM, 951_782_400, 951_868_799, 4_107_542_399, 4_107_542_400, low, high]
    return edges + [rng.randint(low, high) for _ in range(2000)]


def test_format_and_parse_round_trip() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for ts in _sample_timestamps():
        moment = epoch + timedelta(seconds=ts)
        formatted = format_http_date(ts)
        assert formatted == format_datetime(moment, usegmt=True), ts
        assert parse_http_date(formatted) == ts
        assert parse_http_date(_asctime(moment)) == ts
        # The two-digit year resolves to the moment's own year when "now" is that moment.
        assert parse_http_date(_rfc850(moment), now=ts) == ts


def test_format_http_date_matches_email_utils_in_unix_range() -> None:
    for ts in range(-86_400 * 3, 4_102_444_800, 7_777_777):
        assert format_http_date(ts) == formatdate(ts, usegmt=True)


@pytest.mark.parametrize("ts", [-62167219201, 253402300800])
def test_format_http_date_refuses_years_beyond_four_digits(ts: int) -> None:
    with pytest.raises(ValueError, match="0000-9999"):
        format_http_date(ts)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("X-Gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("deflate, gzip;q=1.0, br", True),
        (" gzip ", True),
        (",, gzip ,,", True),
        ("gzip ; q=0.5", True),
        ("gzip;Q=0.5", True),
        ("gzip;q=1", True),
        ("gzip;q=1.", True),
        ("gzip;q=1.000", True),
        ("gzip;q=0.001", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0.", False),
        ("x-gzip;q=0", False),
        ("gzip;q=0.5, x-gzip;q=0", False),  # the same coding refused once: refused
        ("deflate, br", False),
        ("identity", False),
        ("gzipx", False),
        ("*", True),
        ("br, *;q=0.1", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),  # explicitly refused: "*" does not bring it back
        ("*;q=0, gzip", True),
        ("gzip;q=abc", False),
        ("gzip;q=1.5", False),
        ("gzip;q=1.001", False),
        ("gzip;q=.5", False),
        ("gzip;q=-1", False),
        ("gzip;q=", False),
        ("gzip;q=0.0001", False),
        ("gzip;q=0.\u0665", False),  # non-ASCII digit
        ("gzip;level=9", False),
        ("*;q=bad", False),
        (" " * 1020 + "gzip", True),  # 1024 characters: still read
        (" " * 1021 + "gzip", False),  # longer: not read, identity (MAX_ACCEPT_ENCODING)
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected
