"""The ``feedsvc`` command (also ``python -m feedsvc``): Flask's command group over create_app,
so every ``flask --app wsgi COMMAND`` is ``feedsvc COMMAND`` from any directory, plus ``serve``
(the production server, what ``make serve`` runs) and ``--version``."""

from __future__ import annotations

import tomllib
from importlib import metadata

import click
from flask.cli import FlaskGroup

from feedsvc import create_app
from feedsvc.cli import config_command
from feedsvc.config.parsers import REPO_ROOT

DISTRIBUTION = "feedsvc"


def package_version() -> str:
    """feedsvc's version: the installed package's metadata, or pyproject.toml in a checkout
    that is not installed (running with the repository on the path)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        with (REPO_ROOT / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"feedsvc {package_version()}")
        ctx.exit()


@click.command("serve")
@click.option(
    "--web-only",
    is_flag=True,
    help="Only the web workers (a supervisor runs `feedsvc scheduler` beside them).",
)
def serve_command(web_only: bool) -> None:
    """Run the production server: FEEDSVC_WORKERS web workers on FEEDSVC_BIND, one scheduler."""
    # Imported here: the web workers and the scheduler are child processes that build their own
    # app; this process only supervises them, so no app is created for this command.
    from feedsvc import serve

    raise SystemExit(serve.main(web_only=web_only))


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show feedsvc's version and exit.",
)
def main() -> None:
    """feedsvc: stores a newsroom's articles and publishes RSS, Atom and JSON Feed per category.

    Settings come from FEEDSVC_* environment variables and the settings file FEEDSVC_CONFIG
    (README.md, Configuration); `feedsvc config` prints those in force.
    """


main.add_command(serve_command)
# Without an app (no database needed): the settings in force, and where each came from.
main.add_command(config_command)
