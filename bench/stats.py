"""The audience figures' cost (issue 18): CPU per feed request with counting on and off, and
the memory of the aggregation after 1,000,000 distinct clients.

CPU: two ``make serve`` on copies of one database, ``FEEDSVC_STATS=on`` and ``off`` (everything
else equal), driven in turn by wrk as Feedly (a User-Agent with its subscriber figure), six
interleaved runs per case. Per run, the CPU ticks (utime + stime, /proc/PID/stat) of both
granian workers of the server measured, divided by the requests wrk completed: the recording on
the hot path and the flushing thread's aggregation and database writes are both in it. Reported:
the median of the six, on and off; target: on at most 1 µs more per request.

Memory: in this process, 1,000,000 distinct clients (address and User-Agent) recorded, drained
and aggregated in batches as the flusher does, and offered to the polite-polling guard without
a validator (its worst case); traced memory (tracemalloc) held afterwards, against the same
after 100,000 clients: bounded means no growth with the clients.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import requests

from bench import (
    Figure,
    bench_app,
    copy_database,
    free_port,
    make_serve,
    median,
    newsroom_database,
    serve_env,
    sqlite_url,
    wait_http,
    workspace,
)
from bench.serving import CONNECTIONS, THREADS, wrk

ARTICLES = 2_000
PATH = "/feeds/chuyen-muc-00.rss"
RUNS = 6
TARGET_US = 1.0
N_CALLS = 100_000
CLIENTS = 1_000_000
BATCH = 50_000  # hits drained per flush (a busy worker's few seconds)
FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )"
TICK = os.sysconf("SC_CLK_TCK")


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Both measurements, in one run."""
    figures = _cpu(duration)
    figures += _in_process()
    figures += _memory()
    return figures


# --- CPU per request ---------------------------------------------------------------------------


def _cpu(duration: int) -> list[Figure]:
    ws = workspace()
    source = newsroom_database(ARTICLES)
    servers: dict[str, tuple[str, Path]] = {}
    for name in ("on", "off"):
        port = free_port()
        db = copy_database(source, f"stats-{name}.sqlite", serve_port=port)
        servers[name] = (f"http://127.0.0.1:{port}", db)
    env_on = serve_env(sqlite_url(servers["on"][1]), int(servers["on"][0].rsplit(":", 1)[1]),
                       FEEDSVC_STATS="on")  # fmt: skip
    env_off = serve_env(sqlite_url(servers["off"][1]), int(servers["off"][0].rsplit(":", 1)[1]),
                        FEEDSVC_STATS="off")  # fmt: skip
    results: dict[tuple[str, str], list[float]] = {}
    with (
        make_serve(env_on, ws / "stats-on.log") as proc_on,
        make_serve(env_off, ws / "stats-off.log") as proc_off,
    ):
        procs = {"on": proc_on, "off": proc_off}
        for name, (base, _db) in servers.items():
            wait_http(base + PATH, 90, procs[name])
        etags = {
            name: requests.get(base + PATH, timeout=5).headers["ETag"]
            for name, (base, _db) in servers.items()
        }
        cases = {
            "304": lambda name: ["-H", f"If-None-Match: {etags[name]}"],
            "200 gzip": lambda name: ["-H", "Accept-Encoding: gzip"],
        }
        for run_no in range(RUNS):
            order = ["on", "off"] if run_no % 2 == 0 else ["off", "on"]
            for case, headers in cases.items():
                for name in order:
                    base = servers[name][0]
                    workers = _granian_workers(procs[name].pid)
                    before = sum(_ticks(pid) for pid in workers)
                    agent = ["-H", f"User-Agent: {FEEDLY}"]
                    requests_done = wrk(base + PATH, [*agent, *headers(name)], duration).requests
                    # The flusher's next pass (every 5 s) belongs to this run's requests.
                    time.sleep(5.5)
                    spent = sum(_ticks(pid) for pid in workers) - before
                    micros = spent / TICK / requests_done * 1e6
                    results.setdefault((name, case), []).append(micros)
    figures = []
    note = (
        f"workers' CPU ticks / wrk requests, -t{THREADS} -c{CONNECTIONS} -d{duration}s, "
        f"median of {RUNS}"
    )
    for case in ("304", "200 gzip"):
        on, off = median(results[("on", case)]), median(results[("off", case)])
        figures.append(
            Figure(
                "stats", f"CPU per {case}, counting on", on, "µs", off, "counting off",
                f"<= off + {TARGET_US:g} µs", on - off <= TARGET_US,
                note + f"; on {_spread(results[('on', case)])}, off "
                f"{_spread(results[('off', case)])}",
            )
        )  # fmt: skip
    return figures


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _granian_workers(root: int) -> list[int]:
    from bench.memory import _granian_workers as workers

    found = workers(root)
    if not found:
        raise RuntimeError("no granian workers found under make serve")
    return found


# --- the same in one process: the hot path itself, and the flusher's share ------------------


def _in_process() -> list[Figure]:
    """FeedHotPath called in a loop (a 304 for Feedly), recording on and off, interleaved, six
    runs of 100,000 each (CPU time of this process); then the flusher's work for those hits
    (drain and aggregate, the database write excluded: one per 5 s, whatever the requests),
    for one client polling and for every request from a distinct client."""
    from feedsvc import services_of
    from feedsvc.web.hotpath import FeedHotPath

    port = free_port()
    db = copy_database(newsroom_database(ARTICLES), "stats-inproc.sqlite", serve_port=port)
    app = bench_app(sqlite_url(db), FEEDSVC_BASE_URL=f"http://127.0.0.1:{port}")
    services = services_of(app)
    hot = app.wsgi_app
    assert isinstance(hot, FeedHotPath) and services.stats is not None
    hot._started = True  # no background threads: nothing drains behind the measurement
    services.registry.poll(services.db)  # what the watcher does before a first request
    found = services.registry.current(PATH)
    assert found is not None, PATH
    etag = found[1].identity.etag
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": PATH, "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": FEEDLY, "HTTP_IF_NONE_MATCH": etag,
    }  # fmt: skip
    recorder, aggregator = services.stats.recorder, services.stats.aggregator
    day, when = date(2026, 12, 6), datetime(2026, 12, 6, tzinfo=UTC)

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        pass

    def loop(record: object) -> float:
        hot._record = record  # type: ignore[assignment]
        started = time.process_time()
        for _ in range(N_CALLS):
            hot(environ, start_response)
        return (time.process_time() - started) / N_CALLS * 1e6

    on, off, flush_same = [], [], []
    for run_no in range(RUNS):
        for name in ("on", "off") if run_no % 2 == 0 else ("off", "on"):
            if name == "on":
                on.append(loop(recorder.record))
                started = time.process_time()
                aggregator.add_hits(recorder.drain(), day, when)
                flush_same.append((time.process_time() - started) / N_CALLS * 1e6)
            else:
                off.append(loop(None))
    aggregator.take()
    distinct = [("/feeds/x.rss", 304, f"10.0.{n >> 8 & 255}.{n & 255}", None, FEEDLY, True)
                for n in range(N_CALLS // 10)]  # fmt: skip
    started = time.process_time()
    aggregator.add_hits(distinct, day, when)
    flush_distinct = (time.process_time() - started) / len(distinct) * 1e6
    services.shutdown()
    added = median(on) - median(off) + median(flush_same)
    note = f"{N_CALLS:,} calls, median of {RUNS} interleaved, process CPU time"
    return [
        Figure("stats", "hot path 304 in-process, counting on", median(on), "µs", median(off),
               "counting off", note=note),
        Figure("stats", "added per request: record + flush share", added, "µs",
               target=f"<= {TARGET_US:g} µs", ok=added <= TARGET_US,
               note=f"one client polling; flush {median(flush_same):.2f} µs a hit"),
        Figure("stats", "flush share, every request a new client", flush_distinct, "µs",
               note="address resolved, User-Agent classified (cached), BLAKE2b, HyperLogLog"),
    ]  # fmt: skip


# --- memory after a million distinct clients ---------------------------------------------------


def _memory() -> list[Figure]:
    from feedsvc.http.client import TrustedProxies
    from feedsvc.stats.aggregate import Aggregator
    from feedsvc.stats.hits import HitRecorder
    from feedsvc.stats.polling import PollGuard

    recorder = HitRecorder()
    aggregator = Aggregator(lambda _day: b"s" * 32, TrustedProxies())
    guard = PollGuard((10, 300), TrustedProxies())
    day, when = date(2026, 12, 6), datetime(2026, 12, 6, tzinfo=UTC)
    gc.collect()
    tracemalloc.start()
    base, _peak = tracemalloc.get_traced_memory()
    held: dict[int, int] = {}
    started = time.perf_counter()
    for n in range(CLIENTS):
        environ = {
            "REMOTE_ADDR": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            "HTTP_USER_AGENT": f"Newsboat/2.{n % 40}.1",
        }
        guard.check(environ, PATH)
        recorder.record(environ, PATH, 200)
        if len(recorder.buffer) >= BATCH:
            aggregator.add_hits(recorder.drain(), day, when)
        if n + 1 in (100_000, CLIENTS):
            aggregator.add_hits(recorder.drain(), day, when)
            gc.collect()
            held[n + 1] = tracemalloc.get_traced_memory()[0] - base
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seconds = time.perf_counter() - started
    (figures,) = aggregator.days.values()
    from feedsvc.stats import hll

    estimate = hll.estimate(figures.sketch)
    small, large = held[100_000] / 2**20, held[CLIENTS] / 2**20
    return [
        Figure(
            "stats", "memory held after 1,000,000 clients", large, "MiB", small,
            "after 100,000", "bounded: <= 1.1 x after 100,000", large <= 1.1 * small + 0.1,
            f"aggregator + poll guard ({len(guard.windows):,} windows kept) + recorder; peak "
            f"{(peak - base) / 2**20:.1f} MiB with a {BATCH:,}-hit batch; {seconds:.0f} s",
        ),
        Figure(
            "stats", "distinct clients estimated (of 1,000,000)", estimate, "",
            target="within ±3 x 1.6 %", ok=abs(estimate - CLIENTS) <= 0.049 * CLIENTS,
            note="HyperLogLog, 4,096 registers",
        ),
    ]  # fmt: skip
