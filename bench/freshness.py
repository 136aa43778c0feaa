"""Publish-to-visible latency under ``make serve`` (issue 5): articles arrive through the ingest
API at a steady rate while pollers hit the feeds with conditional GETs.

Each article is PUT to ``/api/v1/articles/ID`` in one of CATEGORIES; the clock starts just before
the PUT is sent. Pollers cycle over those categories' JSON feeds and ``all`` with If-None-Match and
note when each article first appears in its category's feed and in ``all``. Reported: p50, p95,
p99 and max of both, the articles never seen, and how many regeneration runs the scheduler made.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

from bench import (
    Figure,
    copy_database,
    free_port,
    make_serve,
    newsroom_database,
    percentile,
    serve_env,
    sqlite_url,
    wait_http,
    workspace,
)

ARTICLES = 10_000  # the archive the service starts with
RATE = 20.0  # articles per second
SECONDS = 25.0  # of publishing
POLLERS = 4
POLL_INTERVAL = 0.02  # seconds between one poller's requests: 200 requests/s in all
CATEGORIES = tuple(f"chuyen-muc-{i:02d}" for i in range(10))
SETTLE = 5.0  # seconds to wait for the last articles to appear
TARGET_S = 1.0


@dataclass
class Tracker:
    """Publication times and first sightings, shared by the publisher and the pollers."""

    published: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (t, category)
    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (id, feed) -> t
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)
    polls: int = 0


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Start make serve, publish for SECONDS at RATE while polling, report the latencies."""
    ws = workspace()
    port = free_port()
    db = copy_database(newsroom_database(ARTICLES), "freshness.sqlite", serve_port=port)
    base = f"http://127.0.0.1:{port}"
    token = secrets.token_urlsafe(24)
    # /metrics is not on the public listener: the scheduler serves it on an address of its own.
    metrics_port = free_port()
    metrics = f"http://127.0.0.1:{metrics_port}"
    env = serve_env(
        sqlite_url(db),
        port,
        FEEDSVC_API_TOKENS=token,
        FEEDSVC_METRICS_BIND=f"127.0.0.1:{metrics_port}",
    )
    tracker = Tracker()
    with make_serve(env, ws / "freshness.log") as proc:
        wait_http(f"{base}/feeds/all.json", 120, proc)
        runs_before = _regeneration_runs(metrics)
        stop = threading.Event()
        pollers = [
            threading.Thread(target=_poll, args=(base, tracker, stop, i), daemon=True)
            for i in range(POLLERS)
        ]
        for poller in pollers:
            poller.start()
        _publish(base, token, tracker)
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline and len(tracker.seen) < 2 * len(tracker.published):
            time.sleep(0.1)
        stop.set()
        for poller in pollers:
            poller.join(timeout=10)
        runs = _regeneration_runs(metrics) - runs_before
    db.unlink()
    return _figures(tracker, runs)


def _publish(base: str, token: str, tracker: Tracker) -> None:
    """PUT RATE articles a second for SECONDS, on a fixed schedule."""
    from bench.data import Newsroom

    newsroom = Newsroom(seed=99)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}"})
    count = int(RATE * SECONDS)
    start = time.monotonic()
    for i in range(count):
        wait = start + i / RATE - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        category = CATEGORIES[i % len(CATEGORIES)]
        record = newsroom.article(i, datetime.now(UTC))
        article_id = f"fresh-{i:05d}"
        record.update(
            id=article_id, categories=[category], published_at=datetime.now(UTC).isoformat()
        )
        sent = time.monotonic()
        with tracker.lock:
            tracker.published[article_id] = (sent, category)
        response = session.put(f"{base}/api/v1/articles/{article_id}", json=record, timeout=10)
        if response.status_code != 201:
            tracker.failures.append(f"{article_id}: {response.status_code} {response.text[:200]}")


ID_RE = re.compile(r'"id":"tag:[^"]*:article/(fresh-\d+)"')


def _poll(base: str, tracker: Tracker, stop: threading.Event, offset: int) -> None:
    """Conditional GETs over the watched JSON feeds, noting each article's first sighting."""
    feeds = ("all", *CATEGORIES)
    etags: dict[str, str] = {}
    session = requests.Session()
    i = offset
    # Paced like aggregators, not flat out: the pollers must not starve the server's CPU.
    while not stop.wait(POLL_INTERVAL):
        feed = feeds[i % len(feeds)]
        i += 1
        headers = {"Accept-Encoding": "gzip"}
        if feed in etags:
            headers["If-None-Match"] = etags[feed]
        try:
            response = session.get(f"{base}/feeds/{feed}.json", headers=headers, timeout=10)
        except requests.RequestException as exc:
            tracker.failures.append(f"poll {feed}: {exc}")
            continue
        now = time.monotonic()
        tracker.polls += 1
        if response.status_code == 304:
            continue
        etags[feed] = response.headers.get("ETag", "")
        with tracker.lock:
            for article_id in ID_RE.findall(response.text):
                key = (article_id, feed)
                if key not in tracker.seen and article_id in tracker.published:
                    tracker.seen[key] = now


def _regeneration_runs(metrics: str) -> float:
    """feedsvc_regeneration_runs_total summed over processes, from the FEEDSVC_METRICS_BIND
    listener at ``metrics`` (NaN without it)."""
    try:
        text = requests.get(f"{metrics}/metrics", timeout=10).text
    except requests.RequestException:
        return float("nan")
    found = re.findall(r"^feedsvc_regeneration_runs_total(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return sum(float(v) for v in found) if found else float("nan")


def _figures(tracker: Tracker, runs: float) -> list[Figure]:
    figures = []
    published = tracker.published
    for label, feed_of in (("category feed", lambda cat: cat), ("all", lambda cat: "all")):
        delays = [
            tracker.seen[(aid, feed_of(cat))] - sent
            for aid, (sent, cat) in published.items()
            if (aid, feed_of(cat)) in tracker.seen
        ]
        missing = len(published) - len(delays)
        if not delays:
            raise RuntimeError(f"no article was ever seen in its {label}: {tracker.failures[:3]}")
        p99 = percentile(delays, 99)
        note = f"{len(published)} articles at {RATE:g}/s, {POLLERS} pollers, {ARTICLES:,} stored"
        if missing:
            note += f"; {missing} NEVER SEEN"
        figures += [
            Figure("freshness", f"publish to visible, {label}, p50", percentile(delays, 50), "s"),
            Figure("freshness", f"publish to visible, {label}, p95", percentile(delays, 95), "s"),
            Figure(
                "freshness", f"publish to visible, {label}, p99", p99, "s",
                target=f"<= {TARGET_S:g} s", ok=p99 <= TARGET_S and not missing, note=note,
            ),
            Figure("freshness", f"publish to visible, {label}, max", max(delays), "s"),
        ]  # fmt: skip
    figures.append(
        Figure(
            "freshness", "regeneration runs during the test", runs, "runs",
            note=f"/metrics feedsvc_regeneration_runs_total; {tracker.polls} polls"
            + (f"; {len(tracker.failures)} failures, first: {tracker.failures[0]}"
               if tracker.failures else ""),
        )
    )  # fmt: skip
    return figures
