"""``flask import-articles`` throughput into SQLite, on a large JSON Lines file.

The file (ARTICLES synthetic newsroom articles, about 5 kB each) is written first; only the
command is timed, end to end, as a user runs it: process start, parsing, validation, HTML
sanitising, upserts in batches of 1000. A second run of the same file (every line unchanged) is
reported too.
"""

from __future__ import annotations

import os
import subprocess
import time

from bench import PYTHON, REPO, Figure, anchor, bench_app, sqlite_url, workspace

ARTICLES = 50_000
TARGET = 5_000.0  # articles per second


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Time import-articles of a fresh file into a database holding only the categories."""
    from bench import data

    ws = workspace()
    newsroom = data.Newsroom()
    lines = ws / "import.jsonl"
    categories = ws / "import-categories.jsonl"
    data.write_jsonl(lines, newsroom.articles(ARTICLES, anchor()))
    data.write_jsonl(categories, iter(newsroom.categories))
    db = ws / "import.sqlite"
    bench_app(sqlite_url(db))  # schema only
    env = {**os.environ, "FEEDSVC_DATABASE_URL": sqlite_url(db), "FEEDSVC_SCHEDULER": "off"}
    _flask(["import-categories", str(categories)], env)
    first = _flask(["import-articles", str(lines)], env)
    again = _flask(["import-articles", str(lines)], env)
    size_mb = lines.stat().st_size / 1e6
    for path in (lines, categories):
        path.unlink()
    for leftover in ws.glob("import.sqlite*"):
        leftover.unlink()
    rate = ARTICLES / first
    return [
        Figure(
            "import", f"import-articles, {ARTICLES:,} new articles", rate, "art/s",
            target=f">= {TARGET:,.0f} art/s", ok=rate >= TARGET,
            note=f"{first:.1f} s for {size_mb:.0f} MB of JSON Lines",
        ),
        Figure(
            "import", "import-articles, the same file again", ARTICLES / again, "art/s",
            note=f"{again:.1f} s; every line unchanged",
        ),
    ]  # fmt: skip


def _flask(args: list[str], env: dict[str, str]) -> float:
    """Run one flask command; its wall time in seconds (it must succeed)."""
    cmd = [os.path.join(os.path.dirname(PYTHON), "flask"), "--app", "wsgi", *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds
