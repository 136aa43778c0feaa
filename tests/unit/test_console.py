"""The ``feedsvc`` command: every app command under one name, ``serve`` without building an app,
``--version`` from the package's metadata, and ``python -m feedsvc``."""

from __future__ import annotations

import runpy
import tomllib
from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from feedsvc import console, create_app, services_of

from tests.helpers.paths import REPO


def pyproject_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(console.main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"feedsvc {console.package_version()}\n"


def test_version_from_metadata_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "version", lambda name: {"feedsvc": "9.8.7"}[name])
    assert console.package_version() == "9.8.7"


def test_version_from_pyproject_in_a_checkout_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert console.package_version() == pyproject_version()


def test_every_app_command_and_serve(tmp_path: Path) -> None:
    env = {"FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    result = CliRunner().invoke(console.main, ["--help"], env=env)
    assert result.exit_code == 0, result.output
    app = create_app(env)
    try:
        expected = set(app.cli.list_commands(click.Context(app.cli)))
    finally:
        services_of(app).shutdown()
    assert expected >= {"init-db", "import-articles", "demo-data", "scheduler", "regenerate"}
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line}
    assert listed >= expected | {"serve"}


def test_init_db_through_the_feedsvc_command(tmp_path: Path) -> None:
    env = {"FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    result = CliRunner().invoke(console.main, ["init-db"], env=env)
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    assert (tmp_path / "cli.db").is_file()


def test_serve_reads_the_settings_itself_without_building_an_app() -> None:
    # A bad value would make create_app raise; serve reports it as its own message instead.
    result = CliRunner().invoke(console.main, ["serve"], env={"FEEDSVC_WORKERS": "0"})
    assert result.exit_code == 2
    assert "feedsvc: FEEDSVC_WORKERS" in result.output


def test_python_m_feedsvc_runs_nothing_when_imported_by_a_spawned_process() -> None:
    # multiprocessing's spawn imports the parent's __main__ as __mp_main__: no second command.
    namespace = runpy.run_module("feedsvc.__main__", run_name="__mp_main__")
    assert namespace["main"] is console.main
