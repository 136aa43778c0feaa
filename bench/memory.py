"""Peak memory of a serving worker with 100 categories, at 10k and 100k stored articles.

``make serve`` on each archive (every feed rendered); then every feed of every category in every
format is fetched, identity and gzip, plus ``?limit`` variants, twice over, and the peak resident
set (VmHWM) of each granian worker is read from /proc. A worker holds snapshots, not articles, so
the figure must not grow with the archive.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench import (
    Figure,
    copy_database,
    free_port,
    make_serve,
    newsroom_database,
    serve_env,
    sqlite_url,
    wait_http,
    workspace,
)

SIZES = (10_000, 100_000)
TARGET_MB = 200.0
FORMATS = ("rss", "atom", "json", "html")
LIMITS = (1, 5, 10, 20)


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Peak worker memory per archive size, and the growth from the smallest to the largest."""
    peaks: dict[int, float] = {}
    for size in SIZES:
        peaks[size] = _peak_worker_mb(size)
    small, large = peaks[SIZES[0]], peaks[SIZES[-1]]
    figures = [
        Figure(
            "memory", f"serving worker peak RSS, {size:,} articles", mb, "MB",
            target=f"<= {TARGET_MB:g} MB", ok=mb <= TARGET_MB,
            note="VmHWM, largest of the workers",
        )
        for size, mb in peaks.items()
    ]  # fmt: skip
    figures.append(
        Figure(
            "memory", f"worker peak, {SIZES[-1]:,} vs {SIZES[0]:,} articles", large, "MB",
            small, f"{SIZES[0]:,} articles", "not growing (<= 1.1 x)", large <= 1.1 * small,
        )
    )  # fmt: skip
    return figures


def _peak_worker_mb(size: int) -> float:
    ws = workspace()
    port = free_port()
    db = copy_database(newsroom_database(size), f"memory-{size}.sqlite", serve_port=port)
    base = f"http://127.0.0.1:{port}"
    with make_serve(serve_env(sqlite_url(db), port), ws / f"memory-{size}.log") as proc:
        wait_http(f"{base}/feeds/all.rss", 120, proc)
        paths = _feed_paths(db)
        for _ in range(2):
            _fetch_all(base, paths)
        time.sleep(1.5)  # a metrics flush and a snapshot poll included
        workers = _granian_workers(proc.pid)
        if not workers:
            raise RuntimeError("no granian worker process found under make serve")
        peak = max(_vm_kb(pid, "VmHWM") for pid in workers) / 1024
    db.unlink()
    return peak


def _feed_paths(db: Path) -> list[str]:
    from feedsvc import store
    from feedsvc.store.db import Database

    database = Database(sqlite_url(db))
    with database.reading() as session:
        keys = store.feed_keys(session)
    database.dispose()
    paths = [f"/feeds/{key}.{fmt}" for key in keys for fmt in FORMATS]
    paths += [f"/feeds/{key}.rss?limit={n}" for key in keys[:20] for n in LIMITS]
    return paths


def _fetch_all(base: str, paths: list[str]) -> None:
    """Every path, identity and gzip, from 8 threads (so both workers serve)."""

    def fetch(path: str) -> None:
        with requests.Session() as session:
            for encoding in ("identity", "gzip"):
                response = session.get(base + path, headers={"Accept-Encoding": encoding})
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fetch, paths))


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry))
    return found


def _granian_workers(root: int) -> list[int]:
    """Processes under ``root`` running granian whose parent runs granian too (the workers)."""
    workers, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in _children(pid):
            todo.append(child)
            if "granian" in _cmdline(child) and "granian" in _cmdline(pid):
                workers.append(child)
    return workers


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _vm_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0
