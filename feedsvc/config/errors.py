"""The one error of the settings: what is wrong, naming the variable (or file key) and the fix."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting has a value feedsvc cannot use; the message names the variable and the fix."""
