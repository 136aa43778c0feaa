"""Publish-to-subscriber latency of the built-in WebSub hub (issue 8).

Starts ``make run`` (or ``make serve``) with FEEDSVC_WEBSUB_HUB=self on a fresh database, runs
subscriber callback servers on 127.0.0.1, subscribes them to one category's JSON Feed (with a
secret), then publishes articles one at a time through the ingest API and times each from the
moment the PUT is sent to the moment a subscriber has received a signed feed holding the article.

    python -m bench.websub_latency [--publishes 50] [--subscribers 1,25] [--server run|serve]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from bench import WORKSPACE_ENV, Figure, free_port, percentile, standalone, started, wait_http
from feedsvc.relay.callback import WebSubCallback

TOKEN = "bench-websub-token"
SECRET = "bench-secret"
SLUG = "thoi-su"
WAIT = 30.0  # the longest wait for one delivery before the run is called failed
GAP = 0.3  # between publishes, so that each is measured alone (changes would collapse)
TARGET_P95_MS = 1000.0


class Subscriber:
    """A callback server (the relay's: it confirms only the subscriptions it asked for and
    checks every signature), recording when each article first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.verified = threading.Event()
        self.changed = threading.Condition()
        self.server = WebSubCallback(("127.0.0.1", 0), SECRET, self._delivered)
        self.server.start()

    @property
    def callback(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/cb/{uuid.uuid4().hex}"

    @property
    def bad_signatures(self) -> int:
        return self.server.rejected

    def expect(self, topic: str) -> None:
        """A subscription to ``topic`` is on its way: confirm its verification."""
        self.server.expect("subscribe", topic, lambda _lease: self.verified.set())

    def _delivered(self, _key: str, body: bytes) -> None:
        now = time.monotonic()
        with self.changed:
            for item in json.loads(body)["items"]:
                self.arrived.setdefault(item["url"], now)
            self.changed.notify_all()

    def wait_for(self, url: str, timeout: float) -> float | None:
        """The arrival time of the article at ``url``, or None after ``timeout``."""
        with self.changed:
            self.changed.wait_for(lambda: url in self.arrived, timeout)
            return self.arrived.get(url)

    def close(self) -> None:
        self.server.close()


@contextmanager
def hub_server(folder: Path, server: str, database_url: str | None) -> Iterator[str]:
    """``make run`` or ``make serve`` with the built-in hub; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FEEDSVC_DATABASE_URL": database_url or f"sqlite:///{folder / f'websub-{port}.db'}",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_BASE_URL": base,
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_WEBSUB_HUB": "self",
        "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",  # subscribers listen on 127.0.0.1
    }
    if server == "run":
        cmd = ["make", "--no-print-directory", "-s", "run"]
    else:
        cmd = ["make", "--no-print-directory", "-s", "serve"]
    with started(cmd, env, folder / f"websub-{server}-{port}.log") as proc:
        wait_http(f"{base}/", timeout=120, proc=proc)
        if server == "serve":  # make serve starts empty: the category comes through the API
            headers = {"Authorization": f"Bearer {TOKEN}"}
            url = f"{base}/api/v1/categories/{SLUG}"
            requests.put(url, json={"name": "Thời sự"}, headers=headers, timeout=10)
        deadline = time.monotonic() + 120
        while requests.get(f"{base}/feeds/{SLUG}.json", timeout=5).status_code != 200:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{base}/feeds/{SLUG}.json never appeared")
            time.sleep(0.2)
        yield base


def subscribe(base: str, subscribers: list[Subscriber]) -> None:
    """Subscribe each to the category's JSON Feed and wait until the hub verified them."""
    topic = f"{base}/feeds/{SLUG}.json"
    for sub in subscribers:
        sub.expect(topic)
        form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": sub.callback,
                "hub.secret": SECRET, "hub.lease_seconds": "3600"}  # fmt: skip
        response = requests.post(f"{base}/websub", data=form, timeout=10)
        response.raise_for_status()
    for sub in subscribers:
        if not sub.verified.wait(30):
            raise RuntimeError(
                "the hub did not verify a subscription within 30 s (under make serve, the "
                "'flask scheduler' process must start the hub worker: Services.start_websub)"
            )
    time.sleep(0.5)  # verification answered; activation is written right after


def publish(base: str, n: int) -> tuple[str, float, float]:
    """PUT one article; (its URL, when the PUT was sent, how long it took)."""
    article_id = f"websub-bench-{n}-{uuid.uuid4().hex[:8]}"
    url = f"https://bienphong.example/{article_id}.html"
    # Published a second ago: the newest story, so it is in the feed (never embargoed).
    when = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    record = {"url": url, "title": f"Bản tin thử {n}", "categories": [SLUG], "published_at": when}
    sent = time.monotonic()
    response = requests.put(
        f"{base}/api/v1/articles/{article_id}",
        json=record,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return url, sent, time.monotonic() - sent


def measure(
    base: str, subscribers: list[Subscriber], publishes: int
) -> tuple[list[float], list[float]]:
    """Publish ``publishes`` articles; (delivery latencies in ms, API PUT times in ms)."""
    latencies: list[float] = []
    puts: list[float] = []
    for n in range(publishes):
        url, sent, took = publish(base, n)
        puts.append(took * 1000)
        for sub in subscribers:
            arrived = sub.wait_for(url, WAIT)
            if arrived is None:
                raise RuntimeError(f"publish {n} did not reach a subscriber within {WAIT:g} s")
            latencies.append((arrived - sent) * 1000)
        time.sleep(GAP)
    return latencies, puts


def figures_for(count: int, latencies: list[float], puts: list[float], server: str) -> list[Figure]:
    """The figures of one run with ``count`` subscribers."""
    name = f"{count} subscriber{'s' if count != 1 else ''}"
    p95 = percentile(latencies, 95)
    figs = [
        Figure("websub_latency", f"delivery p50, {name}", percentile(latencies, 50), "ms"),
        Figure(
            "websub_latency",
            f"delivery p95, {name}",
            p95,
            "ms",
            target=f"<= {TARGET_P95_MS:g} ms",
            ok=p95 <= TARGET_P95_MS,
        ),
        Figure("websub_latency", f"delivery p99, {name}", percentile(latencies, 99), "ms"),
        Figure("websub_latency", f"delivery max, {name}", max(latencies), "ms"),
        Figure("websub_latency", f"API PUT p95, {name}", percentile(puts, 95), "ms"),
    ]
    figs[0].note = f"{len(latencies)} deliveries, make {server}"
    return figs


def run_once(
    folder: Path, counts: list[int], publishes: int, server: str, db: str | None
) -> list[Figure]:
    """Start the server once; measure with each number of subscribers."""
    figures: list[Figure] = []
    with hub_server(folder, server, db) as base:
        for count in counts:
            subscribers = [Subscriber() for _ in range(count)]
            try:
                subscribe(base, subscribers)
                latencies, puts = measure(base, subscribers, publishes)
            finally:
                for sub in subscribers:
                    sub.close()
            if any(sub.bad_signatures for sub in subscribers):
                raise RuntimeError("a delivery carried a wrong X-Hub-Signature")
            figures += figures_for(count, latencies, puts, server)
    return figures


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """The ``python -m bench`` entry point: 50 publishes to 1 subscriber, 20 to 25 of them."""
    folder = Path(os.environ[WORKSPACE_ENV])
    figures = run_once(folder, [1], 100 if full else 50, "run", None)
    figures += run_once(folder, [25], 20, "run", None)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run standalone and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.websub_latency", description=__doc__)
    parser.add_argument("--publishes", type=int, default=50)
    parser.add_argument("--subscribers", default="1,25", help="comma-separated counts")
    parser.add_argument("--server", choices=("run", "serve"), default="run")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.subscribers.split(",")]
    return standalone(
        f"websub_latency ({args.publishes} publishes, make {args.server})",
        "feedsvc-websub-bench-",
        lambda folder: run_once(folder, counts, args.publishes, args.server, args.database_url),
    )


if __name__ == "__main__":
    sys.exit(main())
