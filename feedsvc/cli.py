"""``feedsvc COMMAND`` (or ``flask --app wsgi COMMAND``): thin wrappers over the functions that do
the work."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from typing import IO, Any

import click
from flask import Flask
from flask.cli import with_appcontext

from feedsvc import current_services, store
from feedsvc.config import ConfigError, Resolved, resolve
from feedsvc.demo import newsroom as demo
from feedsvc.ingest import export
from feedsvc.ingest.importer import ArticleImporter
from feedsvc.ingest.records import RecordError
from feedsvc.ingest.store_records import BatchResult, store_articles, store_category
from feedsvc.ingest.strictjson import JSONError, loads_strict
from feedsvc.store import schema

MAX_LINE_BYTES = 8 * 1024 * 1024


def read_json_lines(stream: IO[bytes]) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed value, None) or (line number, None, reason) per line.

    A blank line between records is reported; blank lines at the end of the file are not.
    """
    for number, text, reason in read_lines(stream):
        if text is None:
            yield number, None, reason
            continue
        try:
            yield number, loads_strict(text), None
        except JSONError as exc:
            yield number, None, str(exc)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Yield (line number, stripped line, None) or (line number, None, reason) per line; the
    lines are not parsed (the importer parses them in its worker processes).

    A blank line between records is reported; blank lines at the end of the file are not.
    """
    number = 0
    # The first of the blank lines since the last record: a run of them is reported when a
    # record follows it, so a file of a billion newlines holds no list of them.
    first_blank = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        too_long = len(line) > MAX_LINE_BYTES and not line.endswith(b"\n")
        text = b"" if too_long else line.strip()
        if not text and not too_long:
            first_blank = first_blank or number
            continue
        for blank in range(first_blank or number, number):
            yield blank, None, "blank line: JSON Lines needs one JSON object per line"
        first_blank = 0
        if too_long:
            size = len(line)
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
                size += len(line)
            yield number, None, f"line too long ({size} bytes; at most {MAX_LINE_BYTES})"
            continue
        yield number, text, None


def _progress(total_bytes: int | None) -> Any:
    """A progress bar on a terminal, nothing otherwise."""
    if sys.stderr.isatty() and total_bytes:
        return click.progressbar(length=total_bytes, label="importing", file=sys.stderr)
    return None


def _open(path: str) -> tuple[IO[bytes], int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return stream, size


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    services = current_services()
    schema.upgrade(services.db)
    services.check_tag_authority()
    click.echo(f"database at revision {schema.current_revision(services.db)}")


@click.command("import-categories")
@with_appcontext
@click.argument("path")
def import_categories_command(path: str) -> None:
    """Upsert categories from a JSON Lines file (- for stdin)."""
    services = current_services()
    stream, _ = _open(path)
    bad = 0
    counts: dict[str, int] = {}
    with stream:
        for number, value, reason in read_json_lines(stream):
            if reason is None:
                try:
                    _, status = store_category(services.db, services.clock, value)
                    counts[status] = counts.get(status, 0) + 1
                    continue
                except RecordError as exc:
                    reason = str(exc)
            bad += 1
            click.echo(f"{number}: {reason}", err=True)
    services.written()
    _summary(counts, bad, "categories")
    if bad:
        sys.exit(1)


@click.command("import-articles")
@with_appcontext
@click.argument("path")
def import_articles_command(path: str) -> None:
    """Upsert articles from a JSON Lines file (- for stdin); bad lines reported as LINE: reason."""
    services = current_services()
    stream, size = _open(path)
    bar = _progress(size)
    counts: dict[str, int] = {}
    bad = 0

    def report(numbers: list[int], result: BatchResult) -> None:
        nonlocal bad
        for stored in result.stored:
            counts[stored.status] = counts.get(stored.status, 0) + 1
        for rejected in result.rejected:
            bad += 1
            click.echo(f"{numbers[rejected.index]}: {rejected.reason}", err=True)

    importer = ArticleImporter(services.db, services.settings, services.clock, report)
    with stream:
        try:
            for number, text, reason in read_lines(stream):
                if text is None:
                    bad += 1
                    click.echo(f"{number}: {reason}", err=True)
                else:
                    importer.add(number, text)
                if bar is not None:
                    bar.update(stream.tell() - bar.pos)
            importer.finish()
        finally:
            importer.close()
    if bar is not None:
        bar.render_finish()
    services.written()
    _summary(counts, bad, "articles")
    if bad:
        sys.exit(1)


def _summary(counts: dict[str, int], bad: int, what: str) -> None:
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    click.echo(f"{what}: {', '.join(parts) or 'none stored'}; {bad} rejected", err=True)


@click.command("regenerate")
@with_appcontext
@click.option("--category", "slug", help="Only this category's feeds (or 'all').")
def regenerate_command(slug: str | None) -> None:
    """Regenerate changed feeds now (all, or one category)."""
    services = current_services()
    if slug is not None:
        with services.db.reading() as session:
            if slug != store.ALL and store.get_category(session, slug) is None:
                raise click.BadParameter(f"no category {slug!r}", param_hint="--category")
    result = services.regenerator.run(only=slug)
    click.echo(
        f"rendered {len(result.rendered)}, unchanged {len(result.unchanged)}, "
        f"failed {len(result.failed)} in {result.seconds:.3f} s"
    )
    for key, reason in result.failed.items():
        click.echo(f"{key}: {reason}", err=True)
    if result.failed:
        sys.exit(1)


@click.command("demo-data")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when no article is stored yet.")
def demo_data_command(if_empty: bool) -> None:
    """Load the demo categories and articles (deterministic)."""
    services = current_services()
    if if_empty:
        with services.db.reading() as session:
            if store.count_articles(session):
                click.echo("demo-data: articles already stored; nothing loaded")
                return
    for raw in demo.demo_categories():
        store_category(services.db, services.clock, raw)
    anchor = services.clock.now().replace(minute=0, second=0, microsecond=0)
    articles = demo.demo_articles(services.settings.base_url, anchor)
    result = store_articles(services.db, services.settings, services.clock, articles)
    for rejected in result.rejected:
        click.echo(f"demo article {rejected.index}: {rejected.reason}", err=True)
    services.written()
    click.echo(f"demo-data: {len(result.stored)} articles stored, {len(result.rejected)} rejected")
    if result.rejected:
        sys.exit(1)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run only regeneration, in the foreground, until SIGTERM or Ctrl-C."""
    from feedsvc.ops.metrics_listener import start_listener
    from feedsvc.publish.scheduler import RegenerationScheduler

    services = current_services()
    scheduler = RegenerationScheduler(
        services.regenerator, services.settings.regenerate_seconds, blocking=True
    )

    def stop(_signum: int, _frame: Any) -> None:
        scheduler.shutdown_from_signal()

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"scheduler: sweeping every {services.settings.regenerate_seconds} s", err=True)
    # /metrics for the whole machine on FEEDSVC_METRICS_BIND, never on the public listener.
    try:
        listener = start_listener(services.settings.metrics_bind, services.metrics.exposition)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    # The WebSub hub's verifications and deliveries run beside regeneration, in this process.
    services.start_websub()
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
        if listener is not None:
            listener.stop()
        services.shutdown()


@click.command("export")
@with_appcontext
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (replaced when complete) instead of standard output.",
)
@click.option(
    "--only",
    type=click.Choice(export.KINDS),
    help="Only the categories (for import-categories) or only the articles (import-articles).",
)
def export_command(output: str | None, only: export.Kind | None) -> None:
    """Write every category, then every article, as JSON Lines that import-categories and
    import-articles read back (into an empty database: the same feeds, byte for byte)."""
    services = current_services()
    kinds = (only,) if only else export.KINDS
    counts = export.ExportCounts()
    lines = export.export_lines(services.db, kinds, counts)
    if output is None:
        out = sys.stdout.buffer  # UTF-8 whatever the locale: the records are Vietnamese
        for line in lines:
            out.write(line.encode())
        out.flush()
    else:
        # Complete or absent: written beside the target, then renamed over it.
        partial = f"{output}.partial"
        try:
            with open(partial, "w", encoding="utf-8", newline="\n") as file:
                file.writelines(lines)
            os.replace(partial, output)
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"export: {counts.categories} categories, {counts.articles} articles", err=True)


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(dir_okay=False, writable=True))
def backup_command(destination: str) -> None:
    """Copy the SQLite database to DESTINATION while the service runs (SQLite's online backup;
    never copy the live file). PostgreSQL: use pg_dump -Fc."""
    from feedsvc.store.backup import BackupError, backup_sqlite

    try:
        size = backup_sqlite(current_services().settings.database_url, destination)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup: {destination} ({size} bytes)", err=True)


REDACTED = "[redacted]"


def shown_setting(found: Resolved) -> str:
    """The text of a setting as ``feedsvc config`` shows it: a secret's never (only whether it
    is set), a database URL's password never."""
    if found.row.declared.secret:
        return REDACTED if found.text.strip() else ""
    if found.row.attribute == "database_url":
        from sqlalchemy.engine import make_url

        from feedsvc.config import parsers

        try:
            url = make_url(parsers.database_url(found.text))
        except ValueError:
            return REDACTED  # unparsable: it may hold a password anywhere
        shown = url.render_as_string(hide_password=True)  # the password as ***
        return shown.replace(":***@", f":{REDACTED}@", 1) if url.password is not None else shown
    return found.text


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per setting, in a list.")
def config_command(as_json: bool) -> None:
    """Print every setting in force and where it came from (secrets redacted)."""
    # No app: the settings alone, so this works before the database exists.
    try:
        resolved = resolve(os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    rows: list[dict[str, Any]] = [
        {
            "variable": found.row.variable,
            "value": shown_setting(found),
            "source": found.source,
            "secret": found.row.declared.secret,
        }
        for found in resolved
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max(len(row["variable"]) for row in rows)
    value_width = min(48, max(len(row["value"]) for row in rows))
    click.echo(f"{'setting':<{width}}  {'value':<{value_width}}  from")
    for row in rows:
        value = row["value"] or "(unset)"
        click.echo(f"{row['variable']:<{width}}  {value:<{value_width}}  {row['source']}")


@click.group("stats")
def stats_group() -> None:
    """The audience figures (docs/stats.md)."""


@stats_group.command("ingest-log")
@click.argument("path", default="-")
@click.option("--follow", is_flag=True, help="Keep reading lines appended to PATH (tail -F).")
@with_appcontext
def stats_ingest_log_command(path: str, follow: bool) -> None:
    """Read the cache's JSON access log (nginx feedsvc_json, or varnishncsa -j with the same
    keys) from PATH, or standard input for -, into the audience figures."""
    from feedsvc.stats import logingest
    from feedsvc.stats.service import AudienceStats

    services = current_services()
    stats = AudienceStats.from_settings(services.db, services.clock, services.settings)
    result = logingest.IngestResult()
    if follow:
        if path == "-":
            raise click.ClickException("--follow needs a file, not standard input")
        stopping = False

        def stop(_signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        click.echo(f"stats: following {path}", err=True)
        try:
            logingest.ingest(logingest.follow(path, lambda: stopping), stats, result)
        except FileNotFoundError:
            raise click.ClickException(f"cannot read {path}: no such file") from None
        except KeyboardInterrupt:
            stats.write()
    else:
        stream, _size = _open(path)
        with stream:
            logingest.ingest(stream, stats, result)
    where = f" (first at lines {', '.join(map(str, result.first_malformed))})"
    click.echo(
        f"{result.counted} feed responses counted, {result.skipped} other lines skipped, "
        f"{result.malformed} malformed" + (where if result.malformed else ""),
        err=True,
    )


@click.command("relay")
@with_appcontext
@click.option("--check", is_flag=True, help="Check the [relay] table, print it, and exit.")
def relay_command(check: bool) -> None:
    """Relay each new story to the Telegram, Zalo and webhook destinations of [relay]."""
    import os
    import threading

    from feedsvc.relay import runner

    services = current_services()
    try:
        config = runner.load(services.settings, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if check:
        click.echo(runner.describe(config))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        status = runner.run(config, services.db, services.clock, stop)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        stop.set()
        status = 0
    finally:
        services.shutdown()
    sys.exit(status)


def register(app: Flask) -> None:
    """Add every command to the app's CLI."""
    for command in (
        init_db_command,
        import_categories_command,
        import_articles_command,
        regenerate_command,
        demo_data_command,
        scheduler_command,
        config_command,
        export_command,
        backup_command,
        stats_group,
        relay_command,
    ):
        app.cli.add_command(command)
