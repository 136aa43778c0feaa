"""Feed serving: ``make serve`` against nginx serving the very same bytes from files.

One load generator (wrk) on 127.0.0.1 drives both, interleaved, three rounds: ``200`` identity,
``200`` gzip and ``304`` via If-None-Match (each server's own ETag). Reported: the median
requests/s, p50 and p99 of each, and the ratio to nginx. Both servers share the machine's cores
with wrk, as the issue's figures did.
"""

from __future__ import annotations

import getpass
import grp
import gzip
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import (
    Figure,
    copy_database,
    free_port,
    make_serve,
    median,
    newsroom_database,
    serve_env,
    sqlite_url,
    started,
    wait_http,
    workspace,
)

FEED = "chuyen-muc-00"
FORMAT = "rss"
PATH = f"/feeds/{FEED}.{FORMAT}"
TEMPLATE = Path(__file__).resolve().parent / "nginx" / "nginx.conf.template"
ARTICLES = 10_000
CONNECTIONS = 50
THREADS = 2
ROUNDS = 3
P99_TARGET_MS = 10.0
RATIO_TARGET = 0.5


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str
    requests: int  # completed in the run


@dataclass
class Server:
    name: str
    base: str
    etag: str = ""
    gzip_etag: str = ""


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Start both servers, check they send the same bytes, then measure every case."""
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise RuntimeError(f"{tool} is not installed: apt-get install -y wrk nginx")
    ws = workspace()
    ours_port, nginx_port = free_port(), free_port()
    db = copy_database(newsroom_database(ARTICLES), "serving.sqlite", serve_port=ours_port)
    identity, gz = _snapshot_bytes(db)
    root = ws / "nginx-root"
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "feeds" / f"{FEED}.{FORMAT}").write_bytes(identity)
    (root / "feeds" / f"{FEED}.{FORMAT}.gz").write_bytes(gz)
    conf = _nginx_conf(ws / "nginx", root, nginx_port)
    nginx_cmd = [_nginx_binary(), "-p", str(ws / "nginx"), "-c", str(conf)]
    env = serve_env(sqlite_url(db), ours_port)
    with (
        make_serve(env, ws / "serve.log") as ours_proc,
        started(nginx_cmd, {}, ws / "nginx.log") as nginx_proc,
    ):
        ours = Server("feedsvc", f"http://127.0.0.1:{ours_port}")
        nginx = Server("nginx", f"http://127.0.0.1:{nginx_port}")
        wait_http(ours.base + PATH, 90, ours_proc)
        wait_http(nginx.base + PATH, 30, nginx_proc)
        for server in (ours, nginx):
            _check(server, identity, gz)
        results = _measure([ours, nginx], duration)
    return _figures(results, duration)


def _snapshot_bytes(db: Path) -> tuple[bytes, bytes]:
    """The identity and gzip bytes feedsvc serves for PATH, read from its stored snapshot."""
    from feedsvc import store
    from feedsvc.publish.snapshot import from_bundle
    from feedsvc.store.db import Database

    database = Database(sqlite_url(db))
    with database.reading() as session:
        row = store.get_snapshot(session, FEED)
        if row is None:
            raise RuntimeError(f"no snapshot of {FEED!r} in the benchmark database")
        entry = from_bundle(row.bundle).formats[FORMAT]
    database.dispose()
    return entry.identity.body, entry.gzip.body


def _nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _nginx_conf(prefix: Path, root: Path, port: int) -> Path:
    """Fill in the committed template; everything nginx writes stays under ``prefix``."""
    prefix.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(exist_ok=True)
    # Workers run as this user: the temporary folders are private to it.
    user = ""
    if os.geteuid() == 0:
        user = f"user {getpass.getuser()} {grp.getgrgid(os.getegid()).gr_name};"
    text = TEMPLATE.read_text()
    for key, value in {
        "workers": str(os.cpu_count() or 1),
        "user_directive": user,
        "prefix": str(prefix),
        "root": str(root),
        "port": str(port),
    }.items():
        text = text.replace("{" + key + "}", value)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def _check(server: Server, identity: bytes, gz: bytes) -> None:
    """Both servers must send the same bytes, gzip to gzip clients, and 304 on their ETag."""
    url = server.base + PATH
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=5)
    if plain.status_code != 200 or plain.content != identity:
        raise RuntimeError(f"{server.name}: {url} does not send the feed's identity bytes")
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=5, stream=True)
    raw = zipped.raw.read(decode_content=False)
    if zipped.headers.get("Content-Encoding") != "gzip" or gzip.decompress(raw) != identity:
        raise RuntimeError(f"{server.name}: {url} does not send gzip to a gzip client")
    if server.name == "nginx" and raw != gz:
        raise RuntimeError("nginx: the .gz file is not what feedsvc sends")
    server.etag = plain.headers["ETag"]
    server.gzip_etag = zipped.headers["ETag"]
    again = requests.get(
        url, headers={"If-None-Match": server.etag, "Accept-Encoding": "identity"}, timeout=5
    )
    if again.status_code != 304:
        raise RuntimeError(f"{server.name}: If-None-Match {server.etag} got {again.status_code}")


CASES: dict[str, Callable[[Server], list[str]]] = {
    "200 identity": lambda s: [],
    "200 gzip": lambda s: ["-H", "Accept-Encoding: gzip"],
    "304 If-None-Match": lambda s: ["-H", f"If-None-Match: {s.etag}"],
}


def _measure(servers: list[Server], duration: int) -> dict[tuple[str, str], list[WrkResult]]:
    """Three rounds; in each, every case on both servers back to back (order alternating)."""
    results: dict[tuple[str, str], list[WrkResult]] = {}
    for round_no in range(ROUNDS):
        order = servers if round_no % 2 == 0 else servers[::-1]
        for case, headers in CASES.items():
            for server in order:
                result = wrk(server.base + PATH, headers(server), duration)
                results.setdefault((server.name, case), []).append(result)
    return results


def wrk(url: str, headers: list[str], duration: int, connections: int = CONNECTIONS) -> WrkResult:
    """One wrk run; requests/s, latency percentiles and the requests done, from its report."""
    cmd = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--latency", *headers, url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True)
    text = out.stdout
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    errors = " ".join(
        line.strip() for line in text.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    done = int(_find(r"(\d+) requests in", text))
    return WrkResult(rps, _latency(text, "50"), _latency(text, "99"), errors, done)


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"wrk output without {pattern!r}:\n{text}")
    return found.group(1)


def _latency(text: str, pct: str) -> float:
    """A latency percentile of wrk's distribution, in milliseconds."""
    value = _find(rf"\s{pct}(?:\.0+)?%\s+([\d.]+\w+)", text)
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _figures(results: dict[tuple[str, str], list[WrkResult]], duration: int) -> list[Figure]:
    figures = []
    note = f"wrk -t{THREADS} -c{CONNECTIONS} -d{duration}s, median of {ROUNDS}"
    for case in CASES:
        ours, nginx = results[("feedsvc", case)], results[("nginx", case)]
        rps, base = median([r.rps for r in ours]), median([r.rps for r in nginx])
        p50, p99 = median([r.p50_ms for r in ours]), median([r.p99_ms for r in ours])
        errors = "; ".join(sorted({r.errors for r in ours + nginx if r.errors}))
        figures += [
            Figure(
                "serving", f"{case} requests/s", rps, "req/s", base, "nginx",
                f">= {RATIO_TARGET} x nginx", rps >= RATIO_TARGET * base,
                note + (f"; {errors}" if errors else ""),
            ),
            Figure(
                "serving", f"{case} p50", p50, "ms",
                median([r.p50_ms for r in nginx]), "nginx",
            ),
            Figure(
                "serving", f"{case} p99", p99, "ms",
                median([r.p99_ms for r in nginx]), "nginx",
                f"<= {P99_TARGET_MS:g} ms", p99 <= P99_TARGET_MS,
            ),
        ]  # fmt: skip
    return figures
