"""Benchmarks of feedsvc (issue 7, and issue 5's freshness): ``make bench`` / ``python -m bench``.

Shared parts: the figures every benchmark reports, a workspace of temporary files that is removed
at the end, databases of the synthetic newsroom built once per run, and starting and stopping the
processes a benchmark needs (each in its own process group, stopped by that group's id, never by
name). Everything listens on and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKSPACE_ENV = "FEEDSVC_BENCH_WORKSPACE"


@dataclass
class Figure:
    """One measured figure, beside its baseline and target."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None  # measured in the same run (nginx, the smaller archive, …)
    baseline_name: str = ""
    target: str = ""  # e.g. ">= 0.5 x nginx", "<= 2 s"
    ok: bool | None = None  # whether the target is met (None: no target)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


def figure_line(fig: Figure) -> str:
    """One aligned line of the report."""
    value = f"{fig.value:,.4g}" if abs(fig.value) < 1000 else f"{fig.value:,.0f}"
    text = f"  {fig.name:<46} {value:>10} {fig.unit:<6}"
    if fig.baseline is not None:
        base = f"{fig.baseline:,.4g}" if abs(fig.baseline) < 1000 else f"{fig.baseline:,.0f}"
        text += f" | {fig.baseline_name or 'baseline'} {base} -> {fig.ratio:.2f} x"
    if fig.target:
        verdict = "" if fig.ok is None else (" ok" if fig.ok else " MISSED")
        text += f" | target {fig.target}{verdict}"
    if fig.note:
        text += f"  ({fig.note})"
    return text


def standalone(title: str, prefix: str, measure: Callable[[Path], list[Figure]]) -> int:
    """One benchmark run on its own (``python -m bench.<name>``): ``measure`` in a temporary
    folder of its own (removed at the end), its figures printed under ``title``; the exit
    status, 1 when a target was missed."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        figures = measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(title)
    for fig in figures:
        print(figure_line(fig))
    return 0 if all(f.ok is not False for f in figures) else 1


def write_figures(path: Path, figures: list[Figure]) -> None:
    """Hand a child's figures to the parent (JSON)."""
    path.write_text(json.dumps([asdict(f) for f in figures], ensure_ascii=False))


def read_figures(path: Path) -> list[Figure]:
    """The figures a child wrote (none when it wrote nothing)."""
    if not path.exists():
        return []
    return [Figure(**raw) for raw in json.loads(path.read_text())]


def workspace() -> Path:
    """The run's temporary folder (created by ``python -m bench``, removed by it at the end)."""
    raw = os.environ.get(WORKSPACE_ENV)
    if not raw:
        raise RuntimeError(f"{WORKSPACE_ENV} is not set: run benchmarks with python -m bench")
    return Path(raw)


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``url`` answers with anything below 500; fail after ``timeout`` seconds."""
    import requests

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before {url}")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code < 500:
                return
            last = response.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s (last: {last})")


@contextmanager
def started(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` in a process group of its own; on exit, stop that group (only ours)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM the process group we started, then SIGKILL whatever is left of it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (workers, scheduler)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def serve_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of ``make serve`` on a benchmark database, metrics on as in production."""
    metrics_dir = workspace() / f"metrics-{port}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir()
    return {
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **extra,
    }


def make_serve(env: dict[str, str], log: Path) -> Any:
    """``make serve`` (init-db, then granian workers and the scheduler) as a context manager."""
    return started(["make", "--no-print-directory", "-s", "serve"], env, log)


# --- the newsroom's databases ------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def bench_app(database_url: str, **settings: str) -> Any:
    """A feedsvc app on ``database_url`` with its schema, regeneration not scheduled."""
    from feedsvc import create_app, services_of
    from feedsvc.store import schema

    app = create_app({"FEEDSVC_DATABASE_URL": database_url, "FEEDSVC_SCHEDULER": "off", **settings})
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no migration log in the report
    schema.upgrade(services_of(app).db)
    return app


def newsroom_database(articles: int) -> Path:
    """A SQLite file holding 100 categories and ``articles`` articles, no snapshots yet (built
    once per run; each benchmark copies it before writing to it)."""
    from bench import data
    from feedsvc import services_of

    path = workspace() / f"newsroom-{articles}.sqlite"
    if path.exists():
        return path
    building = path.with_suffix(".building")
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
    app = bench_app(sqlite_url(building))
    services = services_of(app)
    started_at = time.perf_counter()
    data.load(app, data.Newsroom(), articles, anchor())
    with services.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    services.shutdown()
    building.rename(path)
    seconds = time.perf_counter() - started_at
    print(f"  (built a newsroom of {articles:,} articles in {seconds:.1f} s)", file=sys.stderr)
    return path


def copy_database(source: Path, name: str, *, serve_port: int | None = None) -> Path:
    """A private copy of a benchmark database; with ``serve_port``, every feed rendered for
    ``make serve`` on that port (its base URL: the server starts with nothing to regenerate)."""
    from feedsvc import services_of

    target = workspace() / name
    shutil.copyfile(source, target)
    if serve_port is not None:
        base_url = f"http://127.0.0.1:{serve_port}"
        services = services_of(bench_app(sqlite_url(target), FEEDSVC_BASE_URL=base_url))
        services.regenerator.run()
        services.shutdown()
    return target


def anchor() -> datetime:
    """The newest article of every benchmark archive is a minute before this instant."""
    return datetime.now(UTC).replace(microsecond=0)


def median(values: list[float]) -> float:
    """The median (the middle one, or the mean of the middle two)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (0 < pct <= 100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
