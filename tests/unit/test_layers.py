"""The layout's rules, checked on the source: layers point one way (README, "Layout").

Each package may import only the packages below it in the pipeline; nothing below ``web/``
imports it; the store knows no HTTP; renderers never query.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.paths import REPO

PACKAGE = REPO / "feedsvc"

# What the lowest layers (HTTP helpers, settings) sit under: every stage of the data flow.
EVERY_STAGE = {
    "ingest", "store", "publish", "render", "web", "websub", "ops", "services", "cli", "relay",
    "stats", "demo",
}  # fmt: skip
# For each package, the feedsvc packages (or top-level modules) it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "http": EVERY_STAGE,
    "render": {"ingest", "store", "publish", "web", "websub", "ops", "services", "cli", "relay"},
    "ingest": {"publish", "render", "web", "websub", "services", "cli"},
    "store": {"publish", "render", "web", "websub", "http", "services", "cli", "relay"},
    "publish": {"ingest", "web", "websub", "services", "cli", "relay"},
    "websub": {"web", "services", "cli", "ingest", "relay"},
    # The relay reads feeds over HTTP like any subscriber: it never renders or publishes.
    "relay": {"web", "services", "cli", "ingest", "publish", "render", "websub"},
    "ops": {"web", "cli"},
    "stats": {"web", "cli", "services", "ingest", "render", "publish", "websub"},
    "demo": {"store", "publish", "render", "web", "websub", "services", "cli"},
    "config": EVERY_STAGE,
}
# The store holds SQL only: no HTTP framework below the web layer's wiring.
NO_HTTP_FRAMEWORK = {"store", "render", "publish", "ingest", "http"}


def feedsvc_imports(path: Path) -> set[str]:
    """The first component under feedsvc of every feedsvc module ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "feedsvc":
                names = [f"feedsvc.{alias.name}" for alias in node.names]
        found.update(name for name in names if name.startswith(("feedsvc.", "flask", "werkzeug")))
    return {n.split(".")[1] if n.startswith("feedsvc.") else n.split(".")[0] for n in found}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def package_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_layers_point_one_way(path: Path) -> None:
    package = package_of(path)
    imported = feedsvc_imports(path)
    if package not in ("__init__", "web"):
        assert "web" not in imported, f"{path}: only create_app and web/ import feedsvc.web"
    wrong = imported & FORBIDDEN.get(package, set())
    assert not wrong, f"{path}: the {package}/ layer must not import {sorted(wrong)}"
    if package in NO_HTTP_FRAMEWORK:
        assert not imported & {"flask", "werkzeug"}, f"{path}: {package}/ knows no HTTP framework"


def test_every_package_has_rules() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"web"} <= set(FORBIDDEN), packages - set(FORBIDDEN)
