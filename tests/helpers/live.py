"""A WSGI app that forwards to the app of the running test: for tools (Schemathesis) that take
one app when a module is imported, while each test builds its own on a fresh database.

It imports nothing of the tests, so that a tool that harvests literals from the app's modules
finds none of the tests' secrets here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask


class LiveApp:
    """Calls ``self.app``: set it to the test's app, and back to None after the test."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.app is None:
            raise RuntimeError("no app to call: set LiveApp.app in a fixture first")
        return self.app(environ, start_response)
