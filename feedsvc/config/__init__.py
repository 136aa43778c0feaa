"""Settings: one table declares every ``FEEDSVC_*`` variable once, and everything follows from it.

The table is the :class:`Settings` dataclass: each field is one setting, declared with
:func:`setting` — its parser (which fixes its type), its default and its meaning. The variable is
``FEEDSVC_`` and the field's name in capitals. :func:`load_settings` reads, over the defaults, the
settings file (``FEEDSVC_CONFIG``, :mod:`feedsvc.config.file`), then the environment, where
``FEEDSVC_<NAME>_FILE`` names a file holding the value (secrets); a bad value, and a ``FEEDSVC_``
variable that is neither a setting nor one of :data:`NOT_SETTINGS`, raise :class:`ConfigError`
naming the variable. The README's
configuration table is generated from the same fields (:mod:`feedsvc.config.readme`) and a test
fails when the two disagree. A new setting is one new field here, then ``python -m
feedsvc.config.readme --write``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedsvc.config import parsers
from feedsvc.config.errors import ConfigError
from feedsvc.config.file import CONFIG_VARIABLE, closest, settings_file
from feedsvc.http.cache_policy import CachePolicy
from feedsvc.http.client import TrustedProxies

__all__ = ["NOT_SETTINGS", "ConfigError", "Resolved", "Settings", "load_settings", "resolve"]

T = TypeVar("T")
PREFIX = "FEEDSVC_"
FILE_SUFFIX = "_FILE"  # FEEDSVC_<NAME>_FILE=/path: the value of FEEDSVC_<NAME> is in that file

# The FEEDSVC_ variables that are not settings, with what they are for: every other FEEDSVC_
# variable in the environment must be a setting (or a setting's _FILE form), or start-up stops
# naming the nearest one. fnmatch patterns; the one place to add a variable that is not a setting.
NOT_SETTINGS: tuple[tuple[str, str], ...] = (
    (CONFIG_VARIABLE, "the settings file (TOML)"),
    (
        f"{PREFIX}*{FILE_SUFFIX}",
        f"a setting's value read from a file (FEEDSVC_<NAME>{FILE_SUFFIX})",
    ),
    (f"{PREFIX}TEST_*", "the test suite's (FEEDSVC_TEST_DATABASE_URL, FEEDSVC_TEST_RENDER_*)"),
    (f"{PREFIX}BENCH_*", "the benchmarks' (FEEDSVC_BENCH_WORKSPACE)"),
)


@dataclass(frozen=True)
class Declaration:
    """How one setting is read (``parse`` raises ValueError), its default and its meaning."""

    parse: Callable[[str], Any]
    default: str
    meaning: str
    note: str = ""  # shown beside the default in the README: its unit, or what a blank means
    secret: bool = False  # a credential: never printed or logged


def setting(
    parse: Callable[[str], T], default: str, meaning: str, note: str = "", *, secret: bool = False
) -> T:
    """Declare one setting as a field of :class:`Settings`; its type is what ``parse`` returns.
    ``secret=True`` marks a credential, which is never printed or logged."""
    declared = Declaration(parse, default, meaning, note, secret)
    # A dataclass field like any other; typed as the value it will hold, as field() is.
    return cast(T, dataclasses.field(metadata={"setting": declared}))


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed. The fields in this order make the README's table."""

    database_url: str = setting(
        parsers.database_url,
        "sqlite:///{repo}/instance/feedsvc.db",
        "SQLAlchemy URL; plain `postgresql://` URLs work (psycopg 3)",
    )
    base_url: str = setting(
        parsers.http_url,
        "http://127.0.0.1:8000",
        "public URL of this service (may include a path, no trailing slash); every URL in a "
        "response is built from it, never from the request",
    )
    site_url: str = setting(
        parsers.http_url,
        "https://bienphong.example",
        "the newspaper's home page (the channel link)",
    )
    site_title: str = setting(parsers.text, "Báo Biên phòng", "the newspaper's name (feed titles)")
    tag_authority: str = setting(
        parsers.authority,
        "",  # blank: default_authority(site_url), filled in by load_settings
        "authority of item ids `tag:AUTHORITY:article/ID` (RFC 4151); recorded in the database "
        "on first use — a later different value stops start-up",
        note="host of the site URL + `,2026`",
    )
    timezone: ZoneInfo = setting(
        parsers.timezone,
        "Asia/Ho_Chi_Minh",
        "zone for timestamps sent without an offset, and for dates in feeds",
    )
    api_tokens: tuple[str, ...] = setting(
        parsers.tokens,
        "",
        "comma-separated bearer tokens for the ingest API; an empty entry is an error; "
        "unset = every write refused",
        secret=True,
    )
    feed_items: int = setting(parsers.int_between(1, 1000), "50", "items per feed (1–1000)")
    regenerate_seconds: int = setting(
        parsers.int_between(1, 86400), "60", "interval of the safety-net sweep"
    )
    cache_max_age: int = setting(
        parsers.int_between(1, 31536000), "60", "`Cache-Control: max-age` of feeds, seconds (≥ 1)"
    )
    cache_shared_max_age: int | None = setting(
        parsers.optional_int_between(0, 31536000),
        "",
        "`s-maxage` appended to the `Cache-Control` of feeds and pages, for shared caches only "
        "(nginx, Varnish, CDNs): `1` for the short-lifetime mode of deploy/README.md; with "
        "purging on publish leave it unset (or longer than `FEEDSVC_CACHE_MAX_AGE`)",
        note="unset: not sent",
    )
    cache_stale_while_revalidate: int = setting(
        parsers.int_between(0, 31536000),
        "0",
        "`stale-while-revalidate` appended to the `Cache-Control` of feeds and pages, seconds",
        note="0: not sent",
    )
    cache_stale_if_error: int = setting(
        parsers.int_between(0, 31536000),
        "86400",
        "`stale-if-error` appended to the `Cache-Control` of feeds and pages: how long a cache "
        "may serve its copy while feedsvc is down or failing, seconds",
        note="0: not sent",
    )
    surrogate_key_headers: tuple[str, ...] = setting(
        parsers.surrogate_headers,
        "Surrogate-Key, xkey, Cache-Tag",
        "the headers that carry each feed's and page's surrogate keys (Fastly: "
        "`Surrogate-Key`, Varnish xkey: `xkey`, Cloudflare: `Cache-Tag`), comma-separated",
        note="blank: none",
    )
    purge_nginx: str | None = setting(
        parsers.optional_http_url,
        "",
        "URL of the shipped nginx site as this machine reaches it (`http://127.0.0.1`): the "
        "entries of a changed feed are refreshed there after each regeneration",
        note="unset: no nginx purge",
    )
    purge_varnish: str | None = setting(
        parsers.optional_http_url,
        "",
        "URL of the shipped Varnish (`http://127.0.0.1:6081`): a changed feed's surrogate key "
        "is purged there (xkey) after each regeneration",
        note="unset: no Varnish purge",
    )
    purge_fastly_service: str | None = setting(
        parsers.optional_identifier(r"[A-Za-z0-9]{1,64}", "SU1Z0isxPaozGVKXdv0eY"),
        "",
        "Fastly service id whose cache is purged by surrogate key after each regeneration "
        "(needs `FEEDSVC_PURGE_FASTLY_TOKEN`)",
        note="unset: no Fastly purge",
    )
    purge_fastly_token: str | None = setting(
        parsers.optional_token,
        "",
        "Fastly API token with the `purge_select` scope (sent as `Fastly-Key`)",
        secret=True,
    )
    purge_fastly_soft: bool = setting(
        parsers.switch,
        "off",
        "`on`: Fastly purges are soft (marked stale, served while refetched: one stale poll)",
    )
    purge_cloudflare_zone: str | None = setting(
        parsers.optional_identifier(r"[0-9a-f]{32}", "023e105f4ecef8ad9ca31a8372d0c353"),
        "",
        "Cloudflare zone id whose cache is purged by cache tag after each regeneration (needs "
        "`FEEDSVC_PURGE_CLOUDFLARE_TOKEN`)",
        note="unset: no Cloudflare purge",
    )
    purge_cloudflare_token: str | None = setting(
        parsers.optional_token,
        "",
        "Cloudflare API token with the Cache Purge permission (sent as `Authorization: Bearer`)",
        secret=True,
    )
    purge_timeout_seconds: float = setting(
        parsers.seconds_between(0.1, 60), "5", "per purge request to a cache or CDN API"
    )
    purge_give_up_seconds: float = setting(
        parsers.seconds_between(0.5, 3600),
        "10",
        "how long a version's failed purges are retried (with backoff) before they are given "
        "up and logged; a WebSub delivery of that version waits for its purges at most this",
    )
    scheduler: bool = setting(parsers.switch, "on", "`on` / `off`: regenerate inside this process")
    workers: int = setting(parsers.int_between(1, 256), "2", "processes of `make serve`")
    runtime_dir: str | None = setting(
        parsers.directory,
        "",
        "directory shared by the processes of one instance (web workers and scheduler) for "
        "its version board: no worker serves a feed older than another has served",
        note="`make serve`: a new one each start; unset elsewhere: each process on its own",
    )
    bind: tuple[str, int] = setting(
        parsers.bind, "127.0.0.1:8000", "address of `make serve` (and of `make run`)"
    )
    log_format: str = setting(parsers.log_format, "text", "`text` or `json` (one line per event)")
    log_level: str = setting(
        parsers.log_level, "info", "`debug`, `info`, `warning` or `error`: the least severe logged"
    )
    access_log: bool = setting(
        parsers.switch, "off", "`on`: one log line per request (query strings never logged)"
    )
    trusted_proxies: TrustedProxies = setting(
        parsers.trusted_proxies,
        "127.0.0.1, ::1",
        "comma-separated addresses or CIDR networks of the proxies in front (the shipped nginx "
        "connects from 127.0.0.1); `X-Forwarded-For` names the client only when the request "
        "comes from one of them; blank: never",
    )
    metrics_bind: tuple[str, int] | None = setting(
        parsers.optional_bind,
        "",
        "`HOST:PORT` where the scheduler process (`feedsvc scheduler`, so `make serve`) and "
        "`make run` answer `/metrics` for every process of the machine; keep it off the public "
        "network; unset: no such listener",
    )
    metrics_token: str | None = setting(
        parsers.optional_token,
        "",
        "a bearer token that opens `/metrics` on the public listener too (for a scraper that "
        "can only reach it); unset: `/metrics` is not there (404)",
        secret=True,
    )
    websub_hub: str | None = setting(
        parsers.hub,
        "",
        "unset: no hub; `self`: the built-in hub at `/websub`; a URL: an external hub to notify",
    )
    websub_allow_private: bool = setting(
        parsers.switch,
        "off",
        "`on` lets the built-in hub deliver to loopback/private addresses (never to this "
        "service's own address)",
    )
    websub_lease_seconds: int = setting(
        parsers.int_between(1, 31536000),
        "864000",
        "lease granted when a subscriber asks for none",
        note="10 days",
    )
    websub_max_lease_seconds: int = setting(
        parsers.int_between(1, 31536000), "2592000", "longest lease granted", note="30 days"
    )
    websub_max_attempts: int = setting(
        parsers.int_between(1, 100), "10", "tries per delivery before it is dropped"
    )
    websub_backoff_seconds: float = setting(
        parsers.seconds_between(0.01, 86400),
        "15",
        "first retry delay; doubles each try, capped at 1 h",
    )
    websub_timeout_seconds: float = setting(
        parsers.seconds_between(0.1, 300),
        "10",
        "per request to a callback (a whole exchange is cut at twice this)",
    )
    websub_verify_timeout_seconds: float = setting(
        parsers.seconds_between(0.1, 60),
        "3",
        "the one try to verify a callback that never confirmed before (no retries): the whole "
        "exchange is cut at this",
    )
    websub_requests_per_minute: int = setting(
        parsers.int_between(1, 100000),
        "60",
        "`POST /websub` requests per client address (IPv6: per /64) per minute, counted in "
        "each web worker; beyond: `429` with `Retry-After`",
    )
    websub_max_pending: int = setting(
        parsers.int_between(1, 1000000),
        "100",
        "requests waiting for verification, in all; beyond: `429`",
    )
    websub_max_pending_per_host: int = setting(
        parsers.int_between(1, 1000000),
        "10",
        "requests waiting for verification per callback host; beyond: `429`",
    )
    websub_max_subscriptions: int = setting(
        parsers.int_between(1, 10000000),
        "10000",
        "subscriptions (active or waiting), in all; beyond: `429`",
    )
    websub_max_subscriptions_per_host: int = setting(
        parsers.int_between(1, 10000000),
        "1000",
        "subscriptions (active or waiting) per callback host; beyond: `429`",
    )
    websub_host_concurrency: int = setting(
        parsers.int_between(1, 8),
        "2",
        "requests to one callback host at once (of the hub's 8; verifications use at most 3 "
        "of them, so deliveries always keep 5)",
    )
    stats: bool = setting(
        parsers.switch,
        "on",
        "`on`: each web worker records who fetches the feeds (docs/stats.md) and writes the "
        "figures every few seconds; `off` behind a cache, whose access log is read instead "
        "(`feedsvc stats ingest-log`)",
    )
    stats_token: str | None = setting(
        parsers.optional_token,
        "",
        "the editors' token of `/stats` and `/stats.json` (a browser signs in once with it; "
        "scripts send `Authorization: Bearer`); unset: no such pages (404)",
        secret=True,
    )
    stats_retention_days: int = setting(
        parsers.int_between(1, 3650),
        "400",
        "days of audience figures kept; older days are deleted",
    )
    poll_limit: tuple[int, int] | None = setting(
        parsers.poll_limit,
        "10/300",
        "polite polling: `N/SECONDS` full fetches of one feed by one client (address and "
        "User-Agent) without `If-None-Match`/`If-Modified-Since` per window, beyond which it "
        "gets `429` with `Retry-After`; requests with a validator are never refused; `off`: none",
    )
    poll_allow: tuple[TrustedProxies, tuple[str, ...]] = setting(
        parsers.poll_allow,
        "",
        "comma-separated addresses or CIDR networks, and `ua:TEXT` User-Agent substrings, "
        "never refused by the polling limit (FEEDSVC_TRUSTED_PROXIES never are either)",
    )
    max_body_bytes: int = setting(
        parsers.int_between(1024, 1 << 30),
        "8388608",
        "largest request body, on every endpoint that reads one (the ingest API's limit)",
        note="8 MiB",
    )

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
                self.cache_policy.cache_control(self.cache_max_age),
                ",".join(self.surrogate_key_headers),
            ]
        )

    @property
    def cache_policy(self) -> CachePolicy:
        """What feeds and pages tell shared caches (Cache-Control extensions, surrogate keys)."""
        return CachePolicy(
            shared_max_age=self.cache_shared_max_age,
            stale_while_revalidate=self.cache_stale_while_revalidate,
            stale_if_error=self.cache_stale_if_error,
            surrogate_headers=self.surrogate_key_headers,
        )


@dataclass(frozen=True)
class Row:
    """One setting of the table: its variable, the Settings field, and its declaration."""

    variable: str
    attribute: str
    declared: Declaration


def _table() -> tuple[Row, ...]:
    rows = []
    for field in dataclasses.fields(Settings):
        declared = field.metadata.get("setting")
        if not isinstance(declared, Declaration):
            raise TypeError(f"Settings.{field.name} is not declared with setting(...)")
        rows.append(Row(PREFIX + field.name.upper(), field.name, declared))
    return tuple(rows)


TABLE = _table()
VARIABLES = frozenset(row.variable for row in TABLE)


@dataclass(frozen=True)
class Resolved:
    """The text of one setting in force, and where it came from: ``default``, ``environment``,
    ``file PATH`` (the settings file) or ``FEEDSVC_<NAME>_FILE PATH``."""

    row: Row
    text: str
    source: str


def resolve(environ: Mapping[str, str]) -> list[Resolved]:
    """The text of every setting, in table order: a ``_FILE`` variable or the variable itself,
    else the settings file, else the default. ConfigError on an unknown FEEDSVC_ variable, a
    variable set together with its _FILE form, a file that cannot be read, a wrong settings
    file."""
    check_variables(environ)
    found = settings_file(environ)
    resolved = []
    for row in TABLE:
        variable, from_file = row.variable, row.variable + FILE_SUFFIX
        if variable in environ and from_file in environ:
            raise ConfigError(
                f"{variable} and {from_file} are both set: keep one (the _FILE form for a secret)"
            )
        if from_file in environ:
            path = environ[from_file]
            resolved.append(Resolved(row, read_value_file(from_file, path), f"{from_file} {path}"))
        elif variable in environ:
            resolved.append(Resolved(row, environ[variable], "environment"))
        elif found is not None and row.attribute in found.values:
            resolved.append(Resolved(row, found.values[row.attribute], f"file {found.path}"))
        else:
            resolved.append(Resolved(row, row.declared.default, "default"))
    authority = next(r for r in resolved if r.row.attribute == "tag_authority")
    if not authority.text.strip():
        site = next(r for r in resolved if r.row.attribute == "site_url")
        filled = Resolved(authority.row, default_authority(site.text), authority.source)
        resolved[resolved.index(authority)] = filled
    return resolved


def read_value_file(variable: str, path: str) -> str:
    """The value in the file a ``_FILE`` variable names, less one trailing line break."""
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            text = stream.read()
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{variable}: {path} is not UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return text


def _valid_names() -> Iterator[str]:
    for row in TABLE:
        yield row.variable
        yield row.variable + FILE_SUFFIX
    yield from (pattern for pattern, _ in NOT_SETTINGS if "*" not in pattern)


def is_not_setting(variable: str) -> bool:
    """Whether ``variable`` is one of :data:`NOT_SETTINGS`, or a setting's _FILE form."""
    if any(
        fnmatch.fnmatchcase(variable, pattern)
        for pattern, _ in NOT_SETTINGS
        if not pattern.endswith(FILE_SUFFIX)
    ):
        return True
    return variable.endswith(FILE_SUFFIX) and variable.removesuffix(FILE_SUFFIX) in VARIABLES


def check_variables(environ: Mapping[str, str]) -> None:
    """ConfigError naming the first FEEDSVC_ variable of ``environ`` that is no setting, with
    the nearest valid name: a misspelt setting would otherwise be silently ignored."""
    for variable in sorted(environ):
        if not variable.startswith(PREFIX) or variable in VARIABLES or is_not_setting(variable):
            continue
        near = closest(variable, set(_valid_names()))
        suggestion = f"; did you mean {near}?" if near else ""
        raise ConfigError(
            f"{variable} is not a feedsvc setting{suggestion} (README.md, Configuration lists "
            "every setting and the FEEDSVC_ variables that are not settings)"
        )


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse every setting (settings file, environment, defaults); ConfigError on a bad one."""
    values: dict[str, Any] = {}
    for found in resolve(environ):  # every row of TABLE, in its order
        row = found.row
        try:
            values[row.attribute] = row.declared.parse(found.text)
        except ValueError as exc:
            raise ConfigError(f"{row.variable}: {exc}") from None
    settings = Settings(**values)
    _check_pairs(settings)
    return settings


# A CDN purge needs both its id and its token: either alone is a mistake, said at start.
PAIRS = (
    ("purge_fastly_service", "purge_fastly_token"),
    ("purge_cloudflare_zone", "purge_cloudflare_token"),
)


def _check_pairs(settings: Settings) -> None:
    for first, second in PAIRS:
        has_first = getattr(settings, first) is not None
        if has_first != (getattr(settings, second) is not None):
            missing, given = (second, first) if has_first else (first, second)
            raise ConfigError(
                f"{PREFIX}{given.upper()}: needs {PREFIX}{missing.upper()} too (or unset both)"
            )


def default_authority(site_url: str) -> str:
    """The site's host with ``,2026``: the default tag: URI authority."""
    host = urlsplit(site_url.strip()).hostname or "feedsvc.invalid"
    return f"{host},2026"
