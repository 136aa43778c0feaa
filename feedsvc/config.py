"""Settings: defaults from ``config/defaults.toml``, overridden by ``FEEDSVC_*`` variables.

Each variable has its own small typed parser (never ``from_prefixed_env``, which would turn a
token ``12345`` into an int). A bad value raises :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = REPO_ROOT / "config" / "defaults.toml"


class ConfigError(Exception):
    """A setting has a value feedsvc cannot use; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    base_url: str
    site_url: str
    site_title: str
    tag_authority: str
    timezone: ZoneInfo
    api_tokens: tuple[str, ...]
    feed_items: int
    regenerate_seconds: int
    cache_max_age: int
    scheduler: bool
    workers: int
    bind: tuple[str, int]
    log_format: str
    access_log: bool
    websub_hub: str | None
    websub_allow_private: bool
    max_body_bytes: int
    websub_lease_seconds: int
    websub_max_lease_seconds: int
    websub_max_attempts: int
    websub_backoff_seconds: float
    websub_timeout_seconds: float

    def fingerprint(self) -> str:
        """The settings that change what a feed shows: a change re-renders every feed."""
        return "|".join(
            [
                self.base_url,
                self.site_url,
                self.site_title,
                self.tag_authority,
                self.timezone.key,
                str(self.feed_items),
                str(self.cache_max_age),
                self.websub_hub or "",
            ]
        )


# --- parsers: each takes the raw string and returns the typed value or raises ValueError ---


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _http_url(raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is not an absolute http(s) URL, e.g. https://news.example")
    if parts.query or parts.fragment:
        raise ValueError(f"{raw!r} must not have a query or fragment")
    if value.endswith("/"):
        raise ValueError(f"{raw!r} must not end with '/'; write {value.rstrip('/')!r}")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[0-9]+", raw.strip()):
            raise ValueError(f"{raw!r} is not a whole number")
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _seconds_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw.strip()):
            raise ValueError(f"{raw!r} is not a number of seconds such as 10 or 0.5")
        value = float(raw.strip())
        if not low <= value <= high:
            raise ValueError(f"{value:g} is outside {low:g}..{high:g}")
        return value

    return parse


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{raw!r} is not 'on' or 'off'")


def _timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{raw!r} is not an IANA time zone such as Asia/Ho_Chi_Minh") from exc


def _tokens(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        return ()
    tokens = tuple(part.strip() for part in raw.split(","))
    if any(not token for token in tokens):
        raise ValueError("has an empty entry; remove the stray comma")
    for token in tokens:
        if not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):
            raise ValueError(
                "tokens may only use the RFC 6750 token68 characters A-Z a-z 0-9 -._~+/="
            )
    return tokens


def _bind(raw: str) -> tuple[str, int]:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{raw!r} is not HOST:PORT, e.g. 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"{raw!r} is not 'text' or 'json'")
    return value


def _database_url(raw: str) -> str:
    value = raw.strip().replace("{repo}", str(REPO_ROOT))
    scheme = value.split(":", 1)[0]
    if value.startswith(("postgresql://", "postgres://")):
        # Plain postgresql:// URLs work: we ship psycopg 3, not psycopg2.
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ValueError(f"{raw!r}: only sqlite:/// and postgresql:// URLs are supported")
    return value


def _hub(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if value == "self":
        return "self"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is neither 'self' nor an absolute http(s) URL")
    return value


def _authority(raw: str) -> str:
    value = raw.strip()
    # RFC 4151: taggingEntity = authorityName "," date; date = YYYY[-MM[-DD]]
    if not re.fullmatch(
        r"([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
        r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+),[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?",
        value,
    ):
        raise ValueError(f"{raw!r} is not an RFC 4151 authority like news.example,2026")
    return value


PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "FEEDSVC_DATABASE_URL": ("database_url", _database_url),
    "FEEDSVC_BASE_URL": ("base_url", _http_url),
    "FEEDSVC_SITE_URL": ("site_url", _http_url),
    "FEEDSVC_SITE_TITLE": ("site_title", _text),
    "FEEDSVC_TAG_AUTHORITY": ("tag_authority", _authority),
    "FEEDSVC_TIMEZONE": ("timezone", _timezone),
    "FEEDSVC_API_TOKENS": ("api_tokens", _tokens),
    "FEEDSVC_FEED_ITEMS": ("feed_items", _int_between(1, 1000)),
    "FEEDSVC_REGENERATE_SECONDS": ("regenerate_seconds", _int_between(1, 86400)),
    "FEEDSVC_CACHE_MAX_AGE": ("cache_max_age", _int_between(1, 31536000)),
    "FEEDSVC_SCHEDULER": ("scheduler", _switch),
    "FEEDSVC_WORKERS": ("workers", _int_between(1, 256)),
    "FEEDSVC_BIND": ("bind", _bind),
    "FEEDSVC_LOG_FORMAT": ("log_format", _log_format),
    "FEEDSVC_ACCESS_LOG": ("access_log", _switch),
    "FEEDSVC_WEBSUB_HUB": ("websub_hub", _hub),
    "FEEDSVC_WEBSUB_ALLOW_PRIVATE": ("websub_allow_private", _switch),
    "FEEDSVC_MAX_BODY_BYTES": ("max_body_bytes", _int_between(1024, 1 << 30)),
    "FEEDSVC_WEBSUB_LEASE_SECONDS": ("websub_lease_seconds", _int_between(1, 31536000)),
    "FEEDSVC_WEBSUB_MAX_LEASE_SECONDS": ("websub_max_lease_seconds", _int_between(1, 31536000)),
    "FEEDSVC_WEBSUB_MAX_ATTEMPTS": ("websub_max_attempts", _int_between(1, 100)),
    "FEEDSVC_WEBSUB_BACKOFF_SECONDS": ("websub_backoff_seconds", _seconds_between(0.01, 86400)),
    "FEEDSVC_WEBSUB_TIMEOUT_SECONDS": ("websub_timeout_seconds", _seconds_between(0.1, 300)),
}


def load_defaults(path: Path = DEFAULTS_FILE) -> dict[str, str]:
    """Read the default value of every variable from ``config/defaults.toml``."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {key: str(value) for key, value in data.items()}


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse every ``FEEDSVC_*`` variable over the defaults; raise ConfigError on a bad one."""
    raw = load_defaults()
    raw.update({k: v for k, v in environ.items() if k in PARSERS})
    if not raw.get("FEEDSVC_TAG_AUTHORITY", "").strip():
        raw["FEEDSVC_TAG_AUTHORITY"] = default_authority(raw["FEEDSVC_SITE_URL"])
    values: dict[str, Any] = {}
    for name, (attr, parse) in PARSERS.items():
        try:
            values[attr] = parse(raw[name])
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    assert {f.name for f in fields(Settings)} == set(values)
    return Settings(**values)


def default_authority(site_url: str) -> str:
    """The site's host with ``,2026``: the default tag: URI authority."""
    host = urlsplit(site_url.strip()).hostname or "feedsvc.invalid"
    return f"{host},2026"
