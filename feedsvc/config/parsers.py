"""The kinds of value a setting can hold: each parser takes the raw string of a ``FEEDSVC_*``
variable and returns the typed value, or raises ValueError saying what is wrong and what would do.

:mod:`feedsvc.config` names one parser per setting and turns the ValueError into a ConfigError
that names the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedsvc.http.cache_policy import SURROGATE_HEADERS
from feedsvc.http.client import TrustedProxies

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def home_dir() -> Path:
    """What ``{repo}`` in a setting stands for: the repository when running from a checkout (or
    an editable install of one), else the working directory (an installed wheel has no
    repository; its folder is inside the virtual environment, no place for a database)."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()


def text(raw: str) -> str:
    """Any text that is not blank, stripped."""
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def http_url(raw: str) -> str:
    """An absolute http(s) URL without query, fragment or trailing slash."""
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is not an absolute http(s) URL, e.g. https://news.example")
    if parts.query or parts.fragment:
        raise ValueError(f"{raw!r} must not have a query or fragment")
    if value.endswith("/"):
        raise ValueError(f"{raw!r} must not end with '/'; write {value.rstrip('/')!r}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A parser of whole numbers from ``low`` to ``high``."""

    def parse(raw: str) -> int:
        if not re.fullmatch(r"[0-9]+", raw.strip()):
            raise ValueError(f"{raw!r} is not a whole number")
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def optional_int_between(low: int, high: int) -> Callable[[str], int | None]:
    """Blank (none) or a whole number from ``low`` to ``high``."""
    parse = int_between(low, high)
    return lambda raw: parse(raw) if raw.strip() else None


def seconds_between(low: float, high: float) -> Callable[[str], float]:
    """A parser of durations in seconds (decimals allowed) from ``low`` to ``high``."""

    def parse(raw: str) -> float:
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw.strip()):
            raise ValueError(f"{raw!r} is not a number of seconds such as 10 or 0.5")
        value = float(raw.strip())
        if not low <= value <= high:
            raise ValueError(f"{value:g} is outside {low:g}..{high:g}")
        return value

    return parse


def switch(raw: str) -> bool:
    """``on``/``off`` (also true/false, 1/0, yes/no)."""
    value = raw.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{raw!r} is not 'on' or 'off'")


def timezone(raw: str) -> ZoneInfo:
    """An IANA time zone name."""
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{raw!r} is not an IANA time zone such as Asia/Ho_Chi_Minh") from exc


def tokens(raw: str) -> tuple[str, ...]:
    """Comma-separated bearer tokens (RFC 6750 token68 characters); blank means none."""
    if not raw.strip():
        return ()
    values = tuple(part.strip() for part in raw.split(","))
    if any(not token for token in values):
        raise ValueError("has an empty entry; remove the stray comma")
    for token in values:
        if not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):
            raise ValueError(
                "tokens may only use the RFC 6750 token68 characters A-Z a-z 0-9 -._~+/="
            )
    return values


def bind(raw: str) -> tuple[str, int]:
    """``HOST:PORT`` (an IPv6 host may be in brackets)."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{raw!r} is not HOST:PORT, e.g. 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def optional_http_url(raw: str) -> str | None:
    """Blank (none) or an absolute http(s) URL without query, fragment or trailing slash."""
    return http_url(raw) if raw.strip() else None


def surrogate_headers(raw: str) -> tuple[str, ...]:
    """Comma-separated names among Surrogate-Key, xkey and Cache-Tag (any case); blank: none."""
    names: list[str] = []
    for part in raw.split(",") if raw.strip() else []:
        name = SURROGATE_HEADERS.get(part.strip().lower())
        if name is None:
            raise ValueError(f"{part.strip()!r} is not one of Surrogate-Key, xkey, Cache-Tag")
        if name not in names:
            names.append(name)
    return tuple(names)


def optional_identifier(pattern: str, example: str) -> Callable[[str], str | None]:
    """Blank (none) or an identifier matching ``pattern`` (a CDN's service or zone id)."""

    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        if not re.fullmatch(pattern, value):
            raise ValueError(f"{raw!r} is not an identifier like {example}")
        return value

    return parse


def optional_bind(raw: str) -> tuple[str, int] | None:
    """Blank (none) or ``HOST:PORT``."""
    return bind(raw) if raw.strip() else None


def optional_token(raw: str) -> str | None:
    """Blank (none) or one bearer token (RFC 6750 token68 characters)."""
    found = tokens(raw)
    if len(found) > 1:
        raise ValueError("takes one token, not a list")
    return found[0] if found else None


def trusted_proxies(raw: str) -> TrustedProxies:
    """Comma-separated IP addresses or CIDR networks; blank means none."""
    if not raw.strip():
        return TrustedProxies()
    entries = raw.split(",")
    if any(not entry.strip() for entry in entries):
        raise ValueError("has an empty entry; remove the stray comma")
    return TrustedProxies.of(entries)


def directory(raw: str) -> str | None:
    """Blank (none) or an absolute path: the processes that share it may run in other folders."""
    value = raw.strip()
    if not value:
        return None
    if not Path(value).is_absolute():
        raise ValueError(f"{raw!r} is not an absolute path, e.g. /run/feedsvc/instance")
    return value


def log_format(raw: str) -> str:
    """``text`` or ``json``."""
    value = raw.strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"{raw!r} is not 'text' or 'json'")
    return value


LOG_LEVELS = ("debug", "info", "warning", "error")


def log_level(raw: str) -> str:
    """``debug``, ``info``, ``warning`` or ``error``."""
    value = raw.strip().lower()
    if value not in LOG_LEVELS:
        raise ValueError(f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return value


def database_url(raw: str) -> str:
    """A SQLite or PostgreSQL SQLAlchemy URL; ``{repo}`` stands for :func:`home_dir`."""
    value = raw.strip()
    if "{repo}" in value:
        value = value.replace("{repo}", str(home_dir()))
    scheme = value.split(":", 1)[0]
    if value.startswith(("postgresql://", "postgres://")):
        # Plain postgresql:// URLs work: we ship psycopg 3, not psycopg2.
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ValueError(f"{raw!r}: only sqlite:/// and postgresql:// URLs are supported")
    return value


def hub(raw: str) -> str | None:
    """Blank (no hub), ``self`` (the built-in hub) or an absolute http(s) URL."""
    value = raw.strip()
    if not value:
        return None
    if value == "self":
        return "self"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is neither 'self' nor an absolute http(s) URL")
    return value


def authority(raw: str) -> str:
    """An RFC 4151 tagging entity: a domain name or e-mail address, a comma and a date."""
    value = raw.strip()
    # RFC 4151: taggingEntity = authorityName "," date; date = YYYY[-MM[-DD]]
    if not re.fullmatch(
        r"([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
        r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+),[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?",
        value,
    ):
        raise ValueError(f"{raw!r} is not an RFC 4151 authority like news.example,2026")
    return value


def poll_limit(raw: str) -> tuple[int, int] | None:
    """``off`` (none), or ``N/SECONDS``: at most N requests without a validator per window."""
    value = raw.strip().lower()
    if value in ("off", "0", ""):
        return None
    match = re.fullmatch(r"([0-9]+)\s*/\s*([0-9]+)", value)
    if match is None:
        raise ValueError(f"{raw!r} is not 'off' or REQUESTS/SECONDS, e.g. 10/300")
    count, seconds = int(match[1]), int(match[2])
    if not 1 <= count <= 100000 or not 1 <= seconds <= 86400:
        raise ValueError(f"{raw!r}: REQUESTS must be 1..100000 and SECONDS 1..86400")
    return count, seconds


def poll_allow(raw: str) -> tuple[TrustedProxies, tuple[str, ...]]:
    """Comma-separated addresses or CIDR networks, and ``ua:TEXT`` User-Agent substrings."""
    networks: list[str] = []
    agents: list[str] = []
    if not raw.strip():
        return TrustedProxies(), ()
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            raise ValueError("has an empty entry; remove the stray comma")
        if entry.lower().startswith("ua:"):
            text = entry[3:].strip()
            if len(text) < 3:
                raise ValueError(f"{entry!r}: a User-Agent substring needs 3 characters or more")
            agents.append(text.lower())
        else:
            networks.append(entry)
    try:
        allowed = TrustedProxies.of(networks)
    except ValueError as exc:
        raise ValueError(f"{exc}, or ua:TEXT for a User-Agent substring") from None
    return allowed, tuple(agents)
