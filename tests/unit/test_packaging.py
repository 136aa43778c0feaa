"""The package's declarations agree: requirements.lock satisfies pyproject.toml and is hashed,
the tests run the versions production installs, and what changes when feedsvc is installed
rather than run from this checkout (the default database's folder, the demo newsroom's data)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from feedsvc.config import load_settings, parsers
from feedsvc.demo import newsroom

from tests.helpers.paths import REPO

LOCK = REPO / "requirements.lock"


def lock_entries() -> dict[str, tuple[str, int]]:
    """Canonical name -> (pinned version, number of hashes) of every package in the lock."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        stripped = line.strip()
        if line[:1].isalnum():
            requirement = Requirement(line.split(" \\")[0])
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{line}: the lock pins exact versions"
            name = canonicalize_name(requirement.name)
            entries[name] = (spec.version, 0)
        elif stripped.startswith("--hash=sha256:"):
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
    return entries


def declared() -> list[Requirement]:
    """The dependencies of pyproject.toml, the postgresql extra's included."""
    with (REPO / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    extra = project["optional-dependencies"]["postgresql"]
    return [Requirement(text) for text in [*project["dependencies"], *extra]]


def test_the_lock_satisfies_every_declared_dependency() -> None:
    pins = lock_entries()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run make lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), f"lock has {name}=={version}: make lock"


def test_every_pin_carries_hashes() -> None:
    unhashed = [name for name, (_, hashes) in lock_entries().items() if hashes == 0]
    assert not unhashed and lock_entries(), unhashed


def test_the_tests_run_the_versions_production_installs() -> None:
    # The development tools go on top of the lock; one that moved a runtime package would make
    # the suite test something production never runs.
    moved = {
        name: (version, metadata.version(name))
        for name, (version, _) in lock_entries().items()
        if metadata.version(name) != version
    }
    assert not moved, f"installed versions differ from requirements.lock: {moved}"


def test_default_database_in_the_checkout_when_run_from_one() -> None:
    url = load_settings({}).database_url
    assert url == f"sqlite:///{REPO}/instance/feedsvc.db"


def test_default_database_in_the_working_folder_when_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Installed, the package's grandparent is the environment's lib/pythonX.Y: no pyproject.toml.
    monkeypatch.setattr(parsers, "REPO_ROOT", tmp_path / "lib" / "python3")
    monkeypatch.chdir(tmp_path)
    url = load_settings({}).database_url
    assert url == f"sqlite:///{tmp_path}/instance/feedsvc.db"


def test_an_explicit_database_url_is_kept() -> None:
    url = "sqlite:////srv/feedsvc/feedsvc.db"
    assert load_settings({"FEEDSVC_DATABASE_URL": url}).database_url == url


def test_demo_data_read_from_config_in_a_checkout() -> None:
    # The wheel's copy (feedsvc/demo/data/) never exists in a checkout: config/ is the source.
    assert not newsroom.PACKAGED_CONFIG_DIR.exists()
    assert newsroom.CONFIG_DIR == REPO / "config"
    assert newsroom.CATEGORIES_FILE.is_file() and newsroom.SEED_ARTICLE_FILE.is_file()
