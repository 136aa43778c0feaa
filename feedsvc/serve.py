"""``feedsvc serve`` (``make serve``): the production server.

FEEDSVC_WORKERS granian WSGI worker processes on FEEDSVC_BIND run with FEEDSVC_SCHEDULER=off, and
exactly one ``feedsvc scheduler`` process regenerates beside them (across several instances on one
database, the regeneration lease keeps it to one at a time) and answers ``/metrics`` for all of
them on FEEDSVC_METRICS_BIND, when set. If either part exits, the other is
stopped too, so a supervisor (systemd) sees the failure and restarts the whole.

``feedsvc serve --web-only`` runs the workers alone, for a supervisor that runs ``feedsvc
scheduler`` as a unit of its own (deploy/systemd): that unit owns the shared directories, which
this mode uses as they are. The address is the parsed FEEDSVC_BIND (``[::1]:8000`` included),
handed to granian as arguments: never split by a shell.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

from feedsvc.config import FILE_SUFFIX, ConfigError, load_settings
from feedsvc.publish.board import BOARD_FILE

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
RUNTIME_DIR_ENV = "FEEDSVC_RUNTIME_DIR"
SCHEDULER_ENV = "FEEDSVC_SCHEDULER"


def _commands(workers: int, host: str, port: int) -> tuple[list[str], list[str]]:
    bindir = os.path.dirname(sys.executable)
    web = [
        os.path.join(bindir, "granian"),
        "--interface", "wsgi",
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        "--blocking-threads", "1",
        "--no-ws",
        "--log-level", "warning",
        "--factory", "feedsvc:create_app",
    ]  # fmt: skip
    # Both by package name, not the checkout's wsgi.py: an installed feedsvc runs from any folder.
    scheduler = [sys.executable, "-m", "feedsvc", "scheduler"]
    return web, scheduler


def fresh_metrics_dir() -> str:
    """An empty directory for prometheus-client's multiprocess files, shared by every child.

    The operator's PROMETHEUS_MULTIPROC_DIR is emptied of its ``*.db`` files (counts of an earlier
    run must not add up with ours); without one, a new temporary directory, removed at exit.
    """
    path = os.environ.get(METRICS_DIR_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in glob.glob(os.path.join(path, "*.db")):
            os.remove(name)
        return path
    path = tempfile.mkdtemp(prefix="feedsvc-metrics-")
    atexit.register(shutil.rmtree, path, True)
    return path


def fresh_runtime_dir(path: str | None) -> str:
    """The instance's shared directory (its version board), begun anew: FEEDSVC_RUNTIME_DIR
    (``path``, from the environment or the settings file) emptied of an earlier run's board, or
    a new temporary directory, removed at exit."""
    if path:
        os.makedirs(path, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(path, BOARD_FILE))
        return path
    path = tempfile.mkdtemp(prefix="feedsvc-run-")
    atexit.register(shutil.rmtree, path, True)
    return path


def url_host(host: str) -> str:
    """``host`` as in a URL: an IPv6 address in brackets (RFC 3986 §3.2.2)."""
    return f"[{host}]" if ":" in host else host


def set_for_children(variable: str, value: str) -> None:
    """Hand ``variable`` to every child, in place of its _FILE form if the operator used one
    (a child given both would refuse to start)."""
    os.environ.pop(variable + FILE_SUFFIX, None)
    os.environ[variable] = value


def main(web_only: bool = False) -> int:
    """Start the web workers and (unless ``web_only``) the scheduler; forward SIGTERM/SIGINT;
    exit when one exits."""
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return 2
    host, port = settings.bind
    web_cmd, scheduler_cmd = _commands(settings.workers, host, port)
    if not web_only:
        # /metrics adds up every child's counts; one version board for every child.
        set_for_children(METRICS_DIR_ENV, fresh_metrics_dir())
        set_for_children(RUNTIME_DIR_ENV, fresh_runtime_dir(settings.runtime_dir))
    elif not os.environ.get(METRICS_DIR_ENV):
        set_for_children(METRICS_DIR_ENV, fresh_metrics_dir())  # the workers' own sum
    # The workers never regenerate, whatever the settings file or the environment says.
    web_env = {**os.environ, SCHEDULER_ENV: "off"}
    web_env.pop(SCHEDULER_ENV + FILE_SUFFIX, None)
    children = [] if web_only else [subprocess.Popen(scheduler_cmd)]
    children.append(subprocess.Popen(web_cmd, env=web_env))

    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = stopping or _frame is not None
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    # /metrics is never on the workers' listener: the scheduler serves it on its own address.
    metrics = settings.metrics_bind
    scheduler = "" if web_only else f", scheduler pid {children[0].pid}"
    print(
        f"feedsvc: {settings.workers} workers on http://{url_host(host)}:{port}{scheduler}"
        + (
            f", /metrics on http://{url_host(metrics[0])}:{metrics[1]}"
            if metrics and not web_only
            else ""
        ),
        file=sys.stderr,
    )
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    forward(signal.SIGTERM, None)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    if stopping:
        return 0  # asked to stop: a clean shutdown
    return max(abs(child.returncode or 0) for child in children) or 1


if __name__ == "__main__":
    sys.exit(main())
