"""Credentials of the relay's destinations: never written in the settings file. Each is
``NAME_file = "/path"`` (the file's content, surrounding whitespace dropped; read again each
time it is used, so a replaced file is taken without a restart) or ``NAME_env = "VARIABLE"``
(not a ``FEEDSVC_`` variable: those are the service's settings). A value is never part of an
object's text, a message or a log line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedsvc.config import ConfigError


@dataclass(frozen=True)
class Secret:
    """Where a credential comes from (a file or a variable); its value is read on demand and
    never part of the object's text."""

    where: str  # "[relay.destinations.NAME] token_file"
    path: str | None = None
    variable: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def read(self) -> str:
        """The credential now (a file is read again each time: an operator may replace it)."""
        if self.path is not None:
            try:
                value = Path(self.path).read_text("utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{self.where}: cannot read {self.path}: {exc.strerror}"
                ) from None
        else:
            value = self.environ.get(self.variable or "", "").strip()
        if not value:
            source = self.path if self.path is not None else f"${self.variable}"
            raise ConfigError(f"{self.where}: {source} is empty or unset")
        return value

    def __repr__(self) -> str:
        return f"Secret({self.where})"


def secret_from(
    where: str, key: str, raw: Mapping[str, Any], environ: Mapping[str, str]
) -> Secret | None:
    """The credential ``KEY_file`` or ``KEY_env`` names (None when neither), read once now:
    missing or empty stops start-up, not the first story."""
    path, variable = raw.get(f"{key}_file"), raw.get(f"{key}_env")
    if path is not None and variable is not None:
        raise ConfigError(f"{where}: {key}_file or {key}_env, not both")
    if path is not None:
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{where} {key}_file: a file path")
        secret = Secret(f"{where} {key}_file", path=path)
    elif variable is not None:
        if not isinstance(variable, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
            raise ConfigError(f"{where} {key}_env: an environment variable name")
        if variable.upper().startswith("FEEDSVC_"):
            raise ConfigError(
                f"{where} {key}_env: FEEDSVC_ variables are the service's settings; name "
                "another variable (e.g. RELAY_TELEGRAM_TOKEN)"
            )
        secret = Secret(f"{where} {key}_env", variable=variable, environ=dict(environ))
    else:
        return None
    secret.read()  # missing or empty: stop at start-up, not at the first story
    return secret
