"""``python -m bench [--full] [--only NAME] [--duration S]``: run the benchmarks, print figures.

Each benchmark runs in a child process of its own, in its own process group, with a time budget:
past it the group is stopped and the report says so. Temporary files live in one workspace folder,
removed at the end (also after Ctrl-C). Exit status 1 when a benchmark failed or a target was
missed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import PYTHON, REPO, WORKSPACE_ENV, Figure, figure_line, read_figures, write_figures

# name -> (budget in seconds, budget with --full); the order is the order they run in.
BENCHMARKS: dict[str, tuple[int, int]] = {
    "serving": (420, 420),
    "regeneration": (600, 3600),
    "import_speed": (300, 300),
    "memory": (420, 420),
    "freshness": (240, 240),
    "websub_latency": (240, 240),
    "hub_abuse": (300, 300),
    "stats": (600, 600),
    "relay_latency": (180, 300),
    "cache": (420, 420),
}


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the chosen benchmarks (or one, as a child)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="also the 1M-article runs")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="repeatable")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--figures", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, Path(args.figures), args.duration, args.full)
    return _parent(args.only or list(BENCHMARKS), args.duration, args.full)


def _child(name: str, figures: Path, duration: int, full: bool) -> int:
    # SIGTERM (the budget ran out) becomes SystemExit, so the servers this benchmark started in
    # process groups of their own are stopped by its context managers on the way out.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    module = importlib.import_module(f"bench.{name}")
    write_figures(figures, module.run(duration=duration, full=full))
    return 0


def _parent(names: list[str], duration: int, full: bool) -> int:
    ws = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    failed = False
    everything: list[Figure] = []
    print(f"feedsvc benchmarks: {os.cpu_count()} CPUs, workspace {ws}", flush=True)
    try:
        for name in names:
            budget = BENCHMARKS[name][1 if full else 0]
            started = time.monotonic()
            print(f"\n{name} (budget {budget} s)", flush=True)
            status, figures = _run_child(name, ws, duration, full, budget)
            for fig in figures:
                print(figure_line(fig), flush=True)
            print(f"  [{status}, {time.monotonic() - started:.0f} s]", flush=True)
            failed = failed or status != "done"
            everything += figures
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        failed = True
    finally:
        shutil.rmtree(ws, ignore_errors=True)
    missed = [f for f in everything if f.ok is False]
    print(f"\n{len(everything)} figures, {len(missed)} targets missed", flush=True)
    return 1 if failed or missed else 0


def _run_child(
    name: str, ws: Path, duration: int, full: bool, budget: int
) -> tuple[str, list[Figure]]:
    """Run one benchmark in its own process group; stop the group when over budget."""
    figures = ws / f"figures-{name}.json"
    cmd = [PYTHON, "-m", "bench", "--child", name, "--figures", str(figures)]
    cmd += ["--duration", str(duration)] + (["--full"] if full else [])
    env = {**os.environ, WORKSPACE_ENV: str(ws), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    try:
        code = proc.wait(timeout=budget)
        status = "done" if code == 0 else f"FAILED (exit {code})"
    except subprocess.TimeoutExpired:
        status = f"STOPPED after its budget of {budget} s"
    except KeyboardInterrupt:
        _stop_group(proc)
        raise
    _stop_group(proc)
    return status, read_figures(figures)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End whatever is left of the child's process group (servers it started included)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.5)  # let grandchildren that trap SIGTERM finish before the SIGKILL


if __name__ == "__main__":
    sys.exit(main())
