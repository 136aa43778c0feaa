"""The relay's settings: the ``[relay]`` table of the settings file (FEEDSVC_CONFIG).

Secrets are never written in the file itself (feedsvc.relay.credentials). A bad table stops
start-up with a message that names the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feedsvc.config import ConfigError
from feedsvc.config.file import config_tables
from feedsvc.relay.credentials import Secret, secret_from

CONFIG_VARIABLE = "FEEDSVC_CONFIG"
KINDS = ("telegram", "zalo", "webhook")
NAME_RE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
ZALO_MESSAGE_TYPES = ("cs", "promotion")


def relay_table(environ: Mapping[str, str]) -> Mapping[str, Any]:
    """The ``[relay]`` table of the settings file named by FEEDSVC_CONFIG ({} without one),
    read by the settings loader (feedsvc.config.file), which refuses a bad file as start-up does."""
    table = config_tables(environ).get("relay", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{CONFIG_VARIABLE}: [relay] in the settings file must be a table")
    return table


@dataclass(frozen=True)
class Destination:
    """One destination: its kind, what it takes, and its own options (credentials as Secret)."""

    name: str
    kind: str
    categories: tuple[str, ...]  # empty: every story (the ``all`` feed)
    keywords: tuple[str, ...]  # empty: no filter; else any of them in the title or sapo
    pace_seconds: float  # at least this long between two sends
    options: Mapping[str, Any]
    secrets: Mapping[str, Secret]

    @property
    def feed_keys(self) -> tuple[str, ...]:
        """The feeds this destination's stories come from."""
        return self.categories or ("all",)

    def wants(self, text: str) -> bool:
        """Whether a story with this title and sapo passes the keyword filter."""
        if not self.keywords:
            return True
        folded = text.casefold()
        return any(word.casefold() in folded for word in self.keywords)


@dataclass(frozen=True)
class RelayConfig:
    """The whole ``[relay]`` table, checked."""

    service_url: str
    listen: tuple[str, int] | None
    callback_url: str | None
    max_age_seconds: float
    poll_seconds: float
    safety_poll_seconds: float
    lease_seconds: int
    max_attempts: int
    backoff_seconds: float
    timeout_seconds: float
    destinations: tuple[Destination, ...]

    @property
    def feed_keys(self) -> tuple[str, ...]:
        """Every feed some destination needs, in a stable order."""
        return tuple(sorted({key for d in self.destinations for key in d.feed_keys}))


SECRET_KEYS = {
    "telegram": {"token": True},
    "zalo": {"secret_key": True, "refresh_token": True, "access_token": False},
    "webhook": {"secret": True},
}
OPTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "telegram": {"chat_id": (str, int), "api_base": str},
    "zalo": {
        "app_id": (str, int),
        "user_id": (str, int),
        "group_id": (str, int),
        "message_type": str,
        "api_base": str,
        "oauth_base": str,
    },
    "webhook": {"url": str},
}
COMMON = {"type", "categories", "keywords", "pace_seconds"}
DEFAULTS = {
    "telegram": {"api_base": "https://api.telegram.org"},
    "zalo": {
        "api_base": "https://openapi.zalo.me",
        "oauth_base": "https://oauth.zaloapp.com",
        "message_type": "cs",
    },
    "webhook": {},
}


def load_relay_config(
    table: Mapping[str, Any], environ: Mapping[str, str], base_url: str
) -> RelayConfig:
    """Check the ``[relay]`` table; ConfigError names the first bad key."""
    known = {
        "service_url",
        "listen",
        "callback_url",
        "max_age_seconds",
        "poll_seconds",
        "safety_poll_seconds",
        "lease_seconds",
        "max_attempts",
        "backoff_seconds",
        "timeout_seconds",
        "destinations",
    }
    _no_unknown("[relay]", table, known)
    listen = _bind(table.get("listen"))
    callback = table.get("callback_url")
    if callback is not None and not _is_http(callback):
        raise ConfigError("[relay] callback_url: an http:// or https:// URL")
    if callback is None and listen is not None:
        callback = f"http://{listen[0]}:{listen[1]}/websub"
    service_url = table.get("service_url", base_url)
    if not _is_http(service_url):
        raise ConfigError("[relay] service_url: an http:// or https:// URL")
    raw = table.get("destinations", {})
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            "[relay] destinations: none configured; add a [relay.destinations.NAME] table "
            'with type = "telegram", "zalo" or "webhook" (docs/relay.md)'
        )
    destinations = tuple(_destination(name, raw[name], environ) for name in sorted(raw))
    return RelayConfig(
        service_url=service_url.rstrip("/"),
        listen=listen,
        callback_url=callback.rstrip("/") if callback else None,
        max_age_seconds=_number(table, "max_age_seconds", 3600, 0),
        poll_seconds=_number(table, "poll_seconds", 60, 0.05),
        safety_poll_seconds=_number(table, "safety_poll_seconds", 300, 0.05),
        lease_seconds=int(_number(table, "lease_seconds", 86400, 60)),
        max_attempts=int(_number(table, "max_attempts", 20, 1)),
        backoff_seconds=_number(table, "backoff_seconds", 2, 0.01),
        timeout_seconds=_number(table, "timeout_seconds", 10, 0.1),
        destinations=destinations,
    )


def _destination(name: str, raw: Any, environ: Mapping[str, str]) -> Destination:
    where = f"[relay.destinations.{name}]"
    if not NAME_RE.match(name) or len(name) > 48:
        raise ConfigError(f"{where}: a name of a-z, 0-9, - and _ (at most 48 characters)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    kind = raw.get("type")
    if kind not in KINDS:
        raise ConfigError(f"{where} type: one of {', '.join(KINDS)}")
    secret_keys = SECRET_KEYS[kind]
    allowed = COMMON | set(OPTIONS[kind])
    allowed |= {f"{key}_{how}" for key in secret_keys for how in ("file", "env")}
    for key in secret_keys:
        if key in raw:
            raise ConfigError(
                f"{where} {key}: never written in the settings file; use {key}_file = "
                f'"/path/to/file" or {key}_env = "VARIABLE"'
            )
    _no_unknown(where, raw, allowed)
    secrets: dict[str, Secret] = {}
    for key, required in secret_keys.items():
        secret = secret_from(where, key, raw, environ)
        if secret is None and required:
            raise ConfigError(f"{where}: {key}_file or {key}_env is required")
        if secret is not None:
            secrets[key] = secret
    options: dict[str, Any] = dict(DEFAULTS[kind])
    for key, kinds in OPTIONS[kind].items():
        if key in raw:
            if not isinstance(raw[key], kinds) or isinstance(raw[key], bool):
                raise ConfigError(f"{where} {key}: a string")
            options[key] = str(raw[key])
    _check_options(where, kind, options)
    categories = _strings(where, "categories", raw)
    for slug in categories:
        if not SLUG_RE.match(slug) or slug == "all":
            raise ConfigError(f"{where} categories: {slug!r} is not a category slug")
    default_pace = 1.0
    if kind == "telegram" and options["chat_id"].startswith("-"):
        default_pace = 3.0  # a group or channel: Telegram allows about 20 messages a minute
    return Destination(
        name=name,
        kind=kind,
        categories=tuple(categories),
        keywords=tuple(_strings(where, "keywords", raw)),
        pace_seconds=_number(raw, "pace_seconds", default_pace, 0, where),
        options=options,
        secrets=secrets,
    )


def _check_options(where: str, kind: str, options: dict[str, Any]) -> None:
    for key in ("api_base", "oauth_base", "url"):
        if key in options and not _is_http(options[key]):
            raise ConfigError(f"{where} {key}: an http:// or https:// URL")
        if key in options:
            options[key] = options[key].rstrip("/") if key != "url" else options[key]
    if kind == "telegram" and not options.get("chat_id"):
        raise ConfigError(f"{where} chat_id: required (a chat id, or @channelusername)")
    if kind == "webhook" and "url" not in options:
        raise ConfigError(f"{where} url: required")
    if kind == "zalo":
        if "app_id" not in options:
            raise ConfigError(f"{where} app_id: required (Zalo for Developers: your app's ID)")
        if ("user_id" in options) == ("group_id" in options):
            raise ConfigError(f"{where}: exactly one of user_id or group_id")
        if options["message_type"] not in ZALO_MESSAGE_TYPES:
            raise ConfigError(f"{where} message_type: one of {', '.join(ZALO_MESSAGE_TYPES)}")


def _no_unknown(where: str, raw: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )


def _strings(where: str, key: str, raw: Mapping[str, Any]) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where} {key}: a list of non-blank strings")
    return [v.strip() for v in value]


def _number(
    raw: Mapping[str, Any], key: str, default: float, least: float, where: str = "[relay]"
) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
        raise ConfigError(f"{where} {key}: a number ≥ {least:g}")
    return float(value)


def _bind(value: Any) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("[relay] listen: HOST:PORT, e.g. 127.0.0.1:8790")
    return host.strip("[]"), int(port)


def _is_http(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def environment() -> Mapping[str, str]:
    """The process's environment (a seam for tests)."""
    return os.environ
