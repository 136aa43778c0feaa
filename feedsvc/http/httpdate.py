"""HTTP-date (RFC 9110 §5.6.7): parse all three forms, generate IMF-fixdate.

Pure integer arithmetic on strings and Unix seconds: no datetime objects, no locale, no regexes,
and the forms that do not depend on the clock are memoised, so it is cheap enough for the
per-request path. Calendar maths is proleptic Gregorian, the days <-> civil conversion of Howard
Hinnant's "chrono-Compatible Low-Level Date Algorithms".

Parsing follows the grammar strictly, because RFC 9110 §13.1.3 says a recipient MUST ignore an
If-Modified-Since that "is not a valid HTTP-date", and ignoring is always the safe outcome (a 200
is never wrong, a wrong 304 is):

- case-sensitive ("HTTP-date is case sensitive", §5.6.7; the relaxation in RFC 9111 §4.2 is for
  caches computing freshness, not for an origin server evaluating a precondition);
- no whitespace beyond the grammar's SP, except leading/trailing OWS, which is not part of a field
  value anyway (RFC 9110 §5.5);
- ASCII digits only, a day that exists in its month, a day name that agrees with the date (a date
  that contradicts itself names no instant), seconds 00-59 plus the leap second 23:59:60, which
  counts as 23:59:59 (Unix time has no leap seconds; rounding down is RFC 9111 §4.2's "nearest
  time equal to or earlier than the received value").
"""

from __future__ import annotations

import time
from functools import lru_cache

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAY = {name: i for i, name in enumerate(_DAY_NAMES)}
_LONG_WEEKDAY = {name: i for i, name in enumerate(_LONG_DAY_NAMES)}
_MONTH = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_DAY = 86_400
_IMF_FIXDATE_LEN = len("Sun, 06 Nov 1994 08:49:37 GMT")
_ASCTIME_LEN = len("Sun Nov  6 08:49:37 1994")
_RFC850_TAIL_LEN = len(" 06-Nov-94 08:49:37 GMT")  # everything after "Sunday,"
# The longest form is rfc850-date ("Wednesday, 09-Nov-94 08:49:37 GMT", 33 characters); a field
# with more than this around it is no date anyone sends.
_MAX_FIELD_LEN = 128


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a count of days since 1970-01-01."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # 0 = March
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


# IMF-fixdate's year is 4DIGIT (RFC 9110 §5.6.7): 0000-01-01T00:00:00 .. 9999-12-31T23:59:59.
_MIN_TS = _days_from_civil(0, 1, 1) * _DAY
_MAX_TS = _days_from_civil(9999, 12, 31) * _DAY + _DAY - 1


def _weekday(days: int) -> int:
    """Monday = 0 for a count of days since 1970-01-01 (a Thursday)."""
    return (days + 3) % 7


# Cached: the same few instants recur (each feed's Last-Modified, the current second for Date,
# clients echoing our own Last-Modified back), and a hit costs a fraction of a parse.
@lru_cache(maxsize=1024)
def format_http_date(ts: int) -> str:
    """Format Unix seconds as an IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    if not _MIN_TS <= ts <= _MAX_TS:
        raise ValueError(
            f"format_http_date: {ts} is outside years 0000-9999, the only ones IMF-fixdate's "
            "4-digit year can express (RFC 9110 §5.6.7); pass Unix seconds in that range"
        )
    days, seconds = divmod(ts, _DAY)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    return (
        f"{_DAY_NAMES[_weekday(days)]}, {day:02d} {_MONTH_NAMES[month - 1]} {year:04d} "
        f"{hour:02d}:{minute:02d}:{second:02d} GMT"
    )


def parse_http_date(value: str, *, now: int | None = None) -> int | None:
    """Unix seconds of one HTTP-date in any of its three forms, or None if it is not one."""
    if len(value) > _MAX_FIELD_LEN:
        return None  # not one date: decided without copying or scanning a client's megabytes
    value = value.strip(" \t")
    # isascii first: str.isdigit() alone would accept non-ASCII digits such as "٠٦" or "²".
    if not value.isascii():
        return None
    length = len(value)
    if length == _IMF_FIXDATE_LEN:
        return _parse_imf_fixdate(value)
    if length == _ASCTIME_LEN:
        return _parse_asctime(value)
    return _parse_rfc850(value, now)


@lru_cache(maxsize=1024)
def _parse_imf_fixdate(v: str) -> int | None:
    """``Sun, 06 Nov 1994 08:49:37 GMT``."""
    if v[3:5] != ", " or v[7] != " " or v[11] != " " or v[16] != " " or v[25:] != " GMT":
        return None
    weekday, month = _WEEKDAY.get(v[:3]), _MONTH.get(v[8:11])
    day, year = v[5:7], v[12:16]
    if weekday is None or month is None or not (day.isdigit() and year.isdigit()):
        return None
    return _instant(int(year), month, int(day), _clock(v[17:25]), weekday)


@lru_cache(maxsize=256)
def _parse_asctime(v: str) -> int | None:
    """``Sun Nov  6 08:49:37 1994`` (no zone: HTTP-dates are UTC); the day may also be ``06``."""
    if v[3] != " " or v[7] != " " or v[10] != " " or v[19] != " ":
        return None
    weekday, month = _WEEKDAY.get(v[:3]), _MONTH.get(v[4:7])
    # date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
    day = v[9] if v[8] == " " else v[8:10]
    year = v[20:]
    if weekday is None or month is None or not (day.isdigit() and year.isdigit()):
        return None
    return _instant(int(year), month, int(day), _clock(v[11:19]), weekday)


def _parse_rfc850(v: str, now: int | None) -> int | None:
    """``Sunday, 06-Nov-94 08:49:37 GMT``, two-digit year resolved against ``now``."""
    comma = v.find(",")
    weekday = _LONG_WEEKDAY.get(v[:comma]) if comma > 0 else None
    t = v[comma + 1 :]
    if weekday is None or len(t) != _RFC850_TAIL_LEN:
        return None
    if t[0] != " " or t[3] != "-" or t[7] != "-" or t[10] != " " or t[19:] != " GMT":
        return None
    month = _MONTH.get(t[4:7])
    day, short_year = t[1:3], t[8:10]
    seconds = _clock(t[11:19])
    if month is None or seconds is None or not (day.isdigit() and short_year.isdigit()):
        return None
    if now is None:
        now = int(time.time())
    year = _full_year(int(short_year), (month, int(day), seconds), now)
    return _instant(year, month, int(day), seconds, weekday)


def _full_year(short_year: int, rest: tuple[int, int, int], now: int) -> int:
    """Century of a two-digit year: RFC 9110 §5.6.7's more-than-50-years-ahead rule."""
    # "interpret a timestamp that appears to be more than 50 years in the future as representing
    # the most recent year in the past that had the same last two digits": take the next year
    # (from this one on) ending in those digits, and step back a century if the whole timestamp
    # lies beyond the same calendar moment 50 years from now.
    days, seconds = divmod(now, _DAY)
    this_year, this_month, this_day = _civil_from_days(days)
    year = this_year + (short_year - this_year) % 100
    if (year, *rest) > (this_year + 50, this_month, this_day, seconds):
        year -= 100
    return year


def _clock(hms: str) -> int | None:
    """Seconds into the day of ``HH:MM:SS``, or None when it is not a time-of-day."""
    if hms[2] != ":" or hms[5] != ":":
        return None
    hour, minute, second = hms[:2], hms[3:5], hms[6:]
    if not (hour.isdigit() and minute.isdigit() and second.isdigit()):
        return None
    h, m, s = int(hour), int(minute), int(second)
    if s == 60 and h == 23 and m == 59:
        s = 59  # leap second, rounded down (see the module docstring)
    if h > 23 or m > 59 or s > 59:
        return None
    return h * 3600 + m * 60 + s


def _instant(year: int, month: int, day: int, seconds: int | None, weekday: int) -> int | None:
    """Unix seconds of a checked calendar date and time, or None if it does not exist."""
    if seconds is None or not 1 <= day <= _month_length(year, month):
        return None
    days = _days_from_civil(year, month, day)
    if _weekday(days) != weekday:
        return None
    return days * _DAY + seconds


def _month_length(year: int, month: int) -> int:
    """Days in a month of the proleptic Gregorian calendar."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]
