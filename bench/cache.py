"""Through the deployed cache (issue 15): the shipped nginx site in front of ``make serve``.

1. Publish to visible through the cache, for both ways of keeping it fresh: **purge** (feedsvc
   refreshes the feed's entries in nginx after each regeneration, FEEDSVC_PURGE_NGINX; feeds keep
   ``max-age=60``) and **short** (no purge; ``s-maxage=1`` lets nginx keep a feed one second,
   then refresh it in the background, revalidating with our ETag). PUBLISHES articles are PUT
   through the cache, one at a time, while POLLERS readers poll the category's feed through
   the cache with If-None-Match; the clock runs from just before the PUT to the first poll that
   shows the article. Reported: p50 and p99 (target p99 <= 1 s), and what the origin served
   per publish (feed responses of its workers, /metrics).
2. Serving through the deployed cache (purge mode, the default): ``200`` gzip and ``304`` with
   wrk, against nginx serving the very same bytes from files (bench/serving.py's baseline), in
   the same run, interleaved; target >= 0.8 x.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench import (
    Figure,
    copy_database,
    free_port,
    make_serve,
    median,
    newsroom_database,
    percentile,
    serve_env,
    serving,
    sqlite_url,
    started,
    wait_http,
    workspace,
)
from bench.deployed import main_config, write_site

ARTICLES = 10_000
PUBLISHES = 20
POLLERS = 4
POLL_INTERVAL = 0.02
CATEGORY = "chuyen-muc-01"
FEED = f"/feeds/{CATEGORY}.json"
TARGET_S = 1.0
SHIPPED = "purge"  # the mode deploy/ ships (deploy/README.md, "Fresh within a second")
RATIO_TARGET = 0.8
ROUNDS = 3
# Each mode: the settings its feeds are rendered with, and whether feedsvc refreshes nginx.
MODES: dict[str, tuple[dict[str, str], bool]] = {
    "purge": ({}, True),
    "short": ({"FEEDSVC_CACHE_SHARED_MAX_AGE": "1"}, False),
}


@dataclass
class Deployment:
    mode: str
    origin: str
    cache: str
    metrics: str
    token: str


@dataclass
class Sightings:
    first: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    polls: int = 0


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Both modes' publish-to-visible, then the deployed cache's throughput against nginx."""
    source = newsroom_database(ARTICLES)
    figures: list[Figure] = []
    for mode in MODES:
        with deployment(source, mode) as deployed:
            figures += _freshness(deployed)
            if mode == "purge":
                figures += _throughput(deployed, duration)
    return figures


@contextmanager
def deployment(source: Path, mode: str) -> Iterator[Deployment]:
    """make serve (its feeds rendered) behind the shipped nginx site, in ``mode``."""
    ws = workspace()
    origin_port, nginx_port, metrics_port = free_port(), free_port(), free_port()
    rendering, purges = MODES[mode]
    db = _rendered_copy(source, f"cache-{mode}.sqlite", origin_port, rendering)
    token = secrets.token_urlsafe(24)
    env = serve_env(
        sqlite_url(db),
        origin_port,
        FEEDSVC_API_TOKENS=token,
        FEEDSVC_METRICS_BIND=f"127.0.0.1:{metrics_port}",
        **rendering,
    )
    if purges:
        env["FEEDSVC_PURGE_NGINX"] = f"http://127.0.0.1:{nginx_port}"
    prefix = ws / f"nginx-{mode}"
    prefix.mkdir(exist_ok=True)
    site = write_site(prefix, f"127.0.0.1:{origin_port}", f"127.0.0.1:{nginx_port}")
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site, workers="auto", access_log=False))
    nginx_cmd = [serving._nginx_binary(), "-p", str(prefix), "-c", str(conf)]
    with (
        make_serve(env, ws / f"cache-{mode}.log") as proc,
        started(nginx_cmd, {}, prefix / "nginx.out") as nginx_proc,
    ):
        origin = f"http://127.0.0.1:{origin_port}"
        cache = f"http://127.0.0.1:{nginx_port}"
        wait_http(origin + FEED, 120, proc)
        wait_http(cache + FEED, 30, nginx_proc)
        control = requests.get(cache + FEED, timeout=10).headers["Cache-Control"]
        if ("s-maxage=1" in control) != (mode == "short"):
            raise RuntimeError(f"{mode}: the feeds were not rendered for this mode: {control}")
        yield Deployment(mode, origin, cache, f"http://127.0.0.1:{metrics_port}", token)
    db.unlink()


def _rendered_copy(source: Path, name: str, port: int, settings: dict[str, str]) -> Path:
    """A copy of the archive with every feed rendered for ``make serve`` on ``port`` with
    ``settings`` (so the server starts with nothing to regenerate)."""
    from bench import bench_app
    from feedsvc import services_of

    target = copy_database(source, name)
    app = bench_app(sqlite_url(target), FEEDSVC_BASE_URL=f"http://127.0.0.1:{port}", **settings)
    services = services_of(app)
    services.regenerator.run()
    services.shutdown()
    return target


def _freshness(deployed: Deployment) -> list[Figure]:
    from bench.data import Newsroom

    sightings = Sightings()
    stop = threading.Event()
    pollers = [
        threading.Thread(target=_poll, args=(deployed.cache, sightings, stop), daemon=True)
        for _ in range(POLLERS)
    ]
    for poller in pollers:
        poller.start()
    time.sleep(2.0)  # pollers warm, the cache holds the feed
    before = _origin_responses(deployed.metrics)
    newsroom = Newsroom(seed=15)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {deployed.token}"
    delays: list[float] = []
    missing = 0
    rng = random.Random(15)
    for i in range(PUBLISHES):
        article_id = f"cache-{deployed.mode}-{i:02d}"
        record = newsroom.article(i, datetime.now(UTC))
        record.update(
            id=article_id, categories=[CATEGORY], published_at=datetime.now(UTC).isoformat()
        )
        sent = time.monotonic()
        response = session.put(f"{deployed.cache}/api/v1/articles/{article_id}", json=record)
        if response.status_code != 201:
            raise RuntimeError(f"PUT {article_id}: {response.status_code} {response.text[:200]}")
        deadline = sent + 5.0
        while time.monotonic() < deadline and article_id not in sightings.first:
            time.sleep(0.005)
        seen = sightings.first.get(article_id)
        if seen is None:
            missing += 1
        else:
            delays.append(seen - sent)
        time.sleep(rng.uniform(0.3, 0.8))  # publishes at no fixed phase of the cache's second
    stop.set()
    for poller in pollers:
        poller.join(timeout=10)
    time.sleep(1.5)  # the workers flush their counts each second
    served = (_origin_responses(deployed.metrics) - before) / PUBLISHES
    if not delays:
        raise RuntimeError(f"{deployed.mode}: no publish was ever seen through the cache")
    p99 = percentile(delays, 99)
    note = f"{PUBLISHES} publishes, {POLLERS} pollers every {POLL_INTERVAL * 1000:g} ms"
    if missing:
        note += f"; {missing} NEVER SEEN within 5 s"
    name = f"{deployed.mode}: publish to visible through nginx"
    # The target is the shipped mode's (deploy/); the other is measured beside it to compare.
    shipped = deployed.mode == SHIPPED
    if not shipped:
        note += f"; the alternative to {SHIPPED}, not shipped"
    return [
        Figure("cache", f"{name}, p50", percentile(delays, 50), "s"),
        Figure(
            "cache", f"{name}, p99", p99, "s",
            target=f"<= {TARGET_S:g} s" if shipped else "",
            ok=p99 <= TARGET_S and not missing if shipped else None,
            note=note,
        ),
        Figure(
            "cache", f"{deployed.mode}: origin feed responses per publish", served, "req",
            note=f"every feed, both encodings; {sightings.polls} polls through the cache",
        ),
    ]  # fmt: skip


ID_RE = re.compile(r'"id":"tag:[^"]*:article/(cache-\w+-\d+)"')


def _poll(cache: str, sightings: Sightings, stop: threading.Event) -> None:
    """Conditional GETs of the category's feed through the cache, noting first sightings."""
    session = requests.Session()
    etag = ""
    while not stop.wait(POLL_INTERVAL):
        headers = {"Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        try:
            response = session.get(cache + FEED, headers=headers, timeout=10)
        except requests.RequestException:
            continue
        now = time.monotonic()
        sightings.polls += 1
        if response.status_code != 200:
            continue
        etag = response.headers.get("ETag", "")
        with sightings.lock:
            for article_id in ID_RE.findall(response.text):
                sightings.first.setdefault(article_id, now)


def _origin_responses(metrics: str) -> float:
    """Feed responses of the origin's workers (every feed, format and status)."""
    text = requests.get(f"{metrics}/metrics", timeout=10).text
    found = re.findall(r"^feedsvc_feed_requests_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
    return sum(float(v) for v in found)


def _throughput(deployed: Deployment, duration: int) -> list[Figure]:
    """wrk through the cache and against nginx serving the same bytes from files."""
    ws = workspace()
    identity = requests.get(deployed.origin + FEED, headers={"Accept-Encoding": "identity"}).content
    gz = requests.get(deployed.origin + FEED, headers={"Accept-Encoding": "gzip"}, stream=True)
    gz_bytes = gz.raw.read(decode_content=False)
    root = ws / "cache-files"
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    name = FEED.removeprefix("/feeds/")
    (root / "feeds" / name).write_bytes(identity)
    (root / "feeds" / f"{name}.gz").write_bytes(gz_bytes)
    files_port = free_port()
    conf = serving._nginx_conf(ws / "nginx-files", root, files_port)
    cmd = [serving._nginx_binary(), "-p", str(ws / "nginx-files"), "-c", str(conf)]
    cached = serving.Server("deployed cache", deployed.cache)
    files = serving.Server("nginx", f"http://127.0.0.1:{files_port}")
    with started(cmd, {}, ws / "nginx-files.log") as proc:
        wait_http(files.base + FEED, 30, proc)
        for server in (cached, files):
            _validators(server)
        cases = {
            "200 gzip": lambda s: ["-H", "Accept-Encoding: gzip"],
            "304 If-None-Match": lambda s: ["-H", f"If-None-Match: {s.etag}"],
        }
        results: dict[tuple[str, str], list[float]] = {}
        for round_no in range(ROUNDS):
            order = [cached, files] if round_no % 2 == 0 else [files, cached]
            for case, headers in cases.items():
                for server in order:
                    result = serving.wrk(server.base + FEED, headers(server), duration)
                    results.setdefault((server.name, case), []).append(result.rps)
    figures = []
    for case in cases:
        rps = median(results[(cached.name, case)])
        base = median(results[(files.name, case)])
        figures.append(
            Figure(
                "cache", f"through the deployed cache, {case} requests/s", rps, "req/s",
                base, "nginx from files", f">= {RATIO_TARGET} x nginx",
                rps >= RATIO_TARGET * base,
                f"wrk -t{serving.THREADS} -c{serving.CONNECTIONS} -d{duration}s, "
                f"median of {ROUNDS}; {FEED}",
            )
        )  # fmt: skip
    return figures


def _validators(server: serving.Server) -> None:
    """The server's ETag for FEED; it must answer 304 to it."""
    server.etag = requests.get(
        server.base + FEED, headers={"Accept-Encoding": "identity"}, timeout=5
    ).headers["ETag"]
    again = requests.get(
        server.base + FEED,
        headers={"If-None-Match": server.etag, "Accept-Encoding": "identity"},
        timeout=5,
    )
    if again.status_code != 304:
        raise RuntimeError(f"{server.name}: If-None-Match {server.etag} got {again.status_code}")
