"""The ``feedsvc`` command (also ``python -m feedsvc``): Flask's command group over create_app,
so every ``flask --app wsgi COMMAND`` is ``feedsvc COMMAND`` from any directory, plus ``serve``
(the production server, what ``make serve`` runs) and ``--version``."""

from __future__ import annotations

import tomllib
from importlib import metadata

import click
from flask.cli import FlaskGroup

from feedsvc import create_app
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
def serve_command() -> None:
    """Run the production server: FEEDSVC_WORKERS web workers on FEEDSVC_BIND, one scheduler."""
    # Imported here: the web workers and the scheduler are child processes that build their own
    # app; this process only supervises them, so no app is created for this command.
    from feedsvc import serve

    raise SystemExit(serve.main())


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

    Settings come from FEEDSVC_* environment variables (README.md, Configuration).
    """


main.add_command(serve_command)
