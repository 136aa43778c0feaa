"""The settings file: ``FEEDSVC_CONFIG=/etc/feedsvc/feedsvc.toml`` (TOML, read with tomllib).

Top-level keys are setting names in lower case without the prefix (``base_url = "https://…"``
sets FEEDSVC_BASE_URL). A TOML integer, boolean or float becomes the text the setting's parser
reads (``true`` is ``on``), an array its items joined by commas. The environment overrides the
file. TOML *tables* are reserved for components that read their own section: the names in
:data:`KNOWN_TABLES`; a component reads its table with :func:`config_tables`. An unknown key or
table stops start-up, naming the closest valid one.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any

from feedsvc.config.errors import ConfigError

CONFIG_VARIABLE = "FEEDSVC_CONFIG"
# The tables a settings file may hold, each read by the component of that name (never by the
# settings table): [relay] is the Zalo/Telegram relay's (feedsvc/relay/).
KNOWN_TABLES: frozenset[str] = frozenset({"relay"})


@dataclass(frozen=True)
class SettingsFile:
    """A parsed settings file: its settings as the text their parsers read, and its tables."""

    path: str
    values: Mapping[str, str] = field(default_factory=dict)  # setting name -> text
    tables: Mapping[str, Any] = field(default_factory=dict)  # table name -> its contents


def closest(word: str, choices: Collection[str]) -> str | None:
    """The valid name nearest to a misspelt ``word`` (difflib), or None when none is near."""
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    near = closest(word, choices)
    return f"; did you mean {near!r}?" if near else ""


def as_setting_text(value: object, where: str) -> str:
    """A TOML value as the text of a setting: strings as written, booleans ``on``/``off``,
    numbers in decimal, arrays of those joined by ", "; ValueError for anything else."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        items = []
        for item in value:
            if isinstance(item, list | dict):
                raise ValueError(f"{where}: an array of arrays or tables is no setting's value")
            items.append(as_setting_text(item, where))
        return ", ".join(items)
    if isinstance(value, datetime | date | time):
        raise ValueError(f"{where}: write the date-time as a string, in quotes")
    raise ValueError(f"{where}: a {type(value).__name__} is no setting's value")


def read_settings_file(path: str, names: Collection[str]) -> SettingsFile:
    """Parse the file at ``path``; ``names`` are the settings' names (lower case). ConfigError
    on a file that cannot be read or parsed, an unknown key or table, or a value of no use."""
    where = f"{CONFIG_VARIABLE}={path}"
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the settings file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    values: dict[str, str] = {}
    tables: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            if key not in KNOWN_TABLES:
                raise ConfigError(
                    f"{where}: unknown table [{key}]{_did_you_mean(key, KNOWN_TABLES)} (tables "
                    f"are for components: {', '.join(sorted(KNOWN_TABLES))}; a setting is a "
                    "top-level key)"
                )
            tables[key] = MappingProxyType(value)
            continue
        if key not in names:
            hint = key.lower().removeprefix("feedsvc_")
            near = hint if hint in names else closest(hint, names)
            suggestion = f"; did you mean {near!r}?" if near else ""
            raise ConfigError(
                f"{where}: unknown setting {key!r}{suggestion} (keys are the settings' names in "
                "lower case, without FEEDSVC_: README.md, Configuration)"
            )
        try:
            values[key] = as_setting_text(value, f"{where}: {key}")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return SettingsFile(path, MappingProxyType(values), MappingProxyType(tables))


def settings_file(environ: Mapping[str, str]) -> SettingsFile | None:
    """The settings file named by FEEDSVC_CONFIG, parsed and checked; None when it is unset."""
    path = environ.get(CONFIG_VARIABLE, "").strip()
    if not path:
        return None
    from feedsvc.config import TABLE  # the settings table imports this module

    return read_settings_file(path, {row.attribute for row in TABLE})


def config_tables(environ: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The tables of the settings file (FEEDSVC_CONFIG of ``environ``, default the process's
    environment), by name: ``config_tables().get("relay", {})`` is the relay's section. Empty
    without a file; ConfigError when the file is wrong (as at start-up)."""
    found = settings_file(os.environ if environ is None else environ)
    return MappingProxyType({}) if found is None else found.tables
