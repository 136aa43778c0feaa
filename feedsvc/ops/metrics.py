"""Prometheus metrics for ``/metrics``: correct across processes, free on the feed hot path.

The hot path only bumps a per-process dict (:meth:`RequestTally.on_response`); a thread folds it
into prometheus-client once a second, and a scrape folds it first. Under ``make serve`` every
granian worker and the scheduler process write their own files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode) and a scrape adds them up; without that variable
(``make run``, tests) the app's own registry is scraped. What describes the database (articles
stored, the last successful run, sweeps) is read at scrape time, so every worker reports the same.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import ConfigError
from feedsvc.ops.periodic import ProcessThread
from feedsvc.publish.regenerate import WHOLE_RUN, RunResult
from feedsvc.publish.registry import SnapshotRegistry
from feedsvc.store.db import Database

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_SECONDS = 1.0
FEED_PREFIX = "/feeds/"
UNKNOWN = "unknown"
RUN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RequestKey = tuple[int, str]

# The *_created series exist only in single-process mode; without them both modes expose the
# same series (and half as many).
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client: untyped


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when set (``make serve`` sets it); raise if it cannot work."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{MULTIPROC_ENV}={path!r}: cannot create that directory ({exc.strerror}); point it "
            "at a writable directory or unset the variable"
        ) from None
    if values.ValueClass is values.MutexValue:
        # prometheus-client picks its storage when first imported; set later, counts would stay
        # in this process's memory and no scrape would see them.
        raise ConfigError(
            f"{MULTIPROC_ENV} was set after prometheus_client was imported; set it in the "
            "environment before the process starts"
        )
    return path


class RequestTally:
    """Feed responses counted per process with one dict increment, folded into a Counter."""

    def __init__(self, counter: Counter, snapshots: SnapshotRegistry) -> None:
        self.counter = counter
        self.snapshots = snapshots
        # status -> path -> responses since start. Cumulative, never swapped, so a request
        # thread writing while a flush copies cannot lose an increment; keyed by the path string
        # (its hash already cached by the route lookup) rather than a tuple made per request.
        self.counts: dict[int, dict[str, int]] = {}
        self._flushed: dict[RequestKey, int] = {}
        self._labels: dict[RequestKey, tuple[str, str, str]] = {}

    def on_response(self, path: str, fmt: str, status: int) -> None:
        """The FeedHotPath hook: count one response (a dict increment, nothing else)."""
        if status >= 400 and path not in self.snapshots.routes:
            # Every path that is no feed (a 404, or any path while the feeds are loading) shares
            # one key: the client picks the path, and memory and labels must stay bounded. A 200
            # or 304 is always a feed's, so the common case skips the lookup.
            path = ""
        counts = self.counts.get(status)
        if counts is None:
            counts = self.counts.setdefault(status, {})
        counts[path] = counts.get(path, 0) + 1

    def flush(self) -> None:
        """Add the counts since the last flush to the prometheus Counter (caller holds a lock)."""
        # list() and copy() are single C calls: atomic under the GIL.
        current = {
            (status, path): total
            for status, paths in list(self.counts.items())
            for path, total in paths.copy().items()
        }
        for key, total in current.items():
            delta = total - self._flushed.get(key, 0)
            if delta:
                self.counter.labels(*self._label_values(key)).inc(delta)
        self._flushed = current

    def _label_values(self, key: RequestKey) -> tuple[str, str, str]:
        labels = self._labels.get(key)
        if labels is None:
            status, path = key
            feed, fmt = UNKNOWN, UNKNOWN
            if path in self.snapshots.routes:
                feed, _, fmt = path[len(FEED_PREFIX) :].rpartition(".")
            labels = self._labels[key] = (feed, fmt, str(status))
        return labels


class DatabaseCollector:
    """Gauges read from the database at scrape time, the same whichever process answers."""

    def __init__(self, db: Database, snapshots: SnapshotRegistry, clock: Clock) -> None:
        self.db = db
        self.snapshots = snapshots
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        """database_up, articles stored, sweeps and the last successful regeneration."""
        # While the watcher sees the database down, skip the queries: a scrape must not wait
        # for a connection timeout.
        found = self._read() if self.snapshots.db_ok else None
        yield GaugeMetricFamily(
            "feedsvc_database_up",
            "1 when this worker reaches the database, else 0 (feeds are served from memory)",
            value=0.0 if found is None else 1.0,
        )
        if found is None:
            return
        articles, sweeps, last_success = found
        yield GaugeMetricFamily(
            "feedsvc_articles_stored", "Articles stored and not deleted", value=articles
        )
        yield CounterMetricFamily(
            "feedsvc_regeneration_sweeps",
            "Scheduled sweeps run by any scheduler on this database",
            value=sweeps,
        )
        age = float("inf")
        if last_success is not None:
            yield GaugeMetricFamily(
                "feedsvc_regeneration_last_success_timestamp_seconds",
                "Unix time of the last successful regeneration run (any process)",
                value=last_success.timestamp(),
            )
            age = max(0.0, (self.clock.now() - last_success).total_seconds())
        yield GaugeMetricFamily(
            "feedsvc_regeneration_last_success_age_seconds",
            "Seconds since the last successful regeneration run (+Inf: none yet)",
            value=age,
        )

    def _read(self) -> tuple[int, int, datetime | None] | None:
        try:
            with self.db.reading() as session:
                articles = store.count_articles(session)
                sweeps = store.read_counter(session, "sweeps")
                recorded = store.get_meta(session, "last_success")
        except Exception as exc:
            # The watcher logs the outage once; a scrape every few seconds must not.
            log.debug("metrics: database unavailable: %s", exc)
            return None
        return articles, sweeps, datetime.fromisoformat(recorded) if recorded else None


class NotModifiedShare:
    """Wraps a collector and adds the share of 304s among 200 and 304 feed responses."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        """Everything the source collects, plus feedsvc_feed_not_modified_ratio."""
        families = list(self.source.collect())
        by_status = {"200": 0.0, "304": 0.0}
        for family in families:
            if family.name == "feedsvc_feed_requests":
                for sample in family.samples:
                    status = sample.labels.get("status", "")
                    if sample.name.endswith("_total") and status in by_status:
                        by_status[status] += sample.value
        answered = by_status["200"] + by_status["304"]
        families.append(
            GaugeMetricFamily(
                "feedsvc_feed_not_modified_ratio",
                "Share of feed responses (200 and 304) that were 304 since the server started; "
                'for a window: rate(feedsvc_feed_requests_total{status="304"}[5m]) / '
                'rate(feedsvc_feed_requests_total{status=~"200|304"}[5m])',
                value=by_status["304"] / answered if answered else 0.0,
            )
        )
        return families


class Flusher(ProcessThread):
    """A daemon thread calling ``flush`` every second in the process that started it."""

    def __init__(self, flush: Callable[[], None], interval: float = FLUSH_SECONDS) -> None:
        super().__init__("feedsvc-metrics", flush, interval)
        self.flush = flush

    def stop(self) -> None:
        """End the thread after one last flush."""
        super().stop()
        self.flush()


class Metrics:
    """Every metric of one process, and the ``/metrics`` exposition."""

    def __init__(self, db: Database, snapshots: SnapshotRegistry, clock: Clock) -> None:
        self.multiproc_dir = multiprocess_dir()
        self.snapshots = snapshots
        self.registry = CollectorRegistry()
        self.feed_requests = Counter(
            "feedsvc_feed_requests",
            "Feed responses by feed (unknown: no such feed), format and status",
            ("feed", "format", "status"),
            registry=self.registry,
        )
        self.runs = self._counter("feedsvc_regeneration_runs", "Regeneration runs")
        self.failures = self._counter(
            "feedsvc_regeneration_failures",
            "Regeneration runs where a feed failed or the run could not finish",
        )
        self.durations = Histogram(
            "feedsvc_regeneration_duration_seconds",
            "Duration of regeneration runs",
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.feeds = Counter(
            "feedsvc_regeneration_feeds",
            "Feeds handled by regeneration runs, by outcome",
            ("outcome",),
            registry=self.registry,
        )
        for outcome in ("rendered", "unchanged", "failed"):
            self.feeds.labels(outcome)
        # Made at the first flush, so only processes that serve (not the scheduler) report it.
        self._worker_snapshots: Callable[[float], None] | None = None
        self.tally = RequestTally(self.feed_requests, snapshots)
        # Collectors read at scrape time (the database gauges, the audience's), in either mode.
        self.collectors: list[Collector] = []
        self.database = DatabaseCollector(db, snapshots, clock)
        self.add_collector(self.database)
        self.flusher = Flusher(self.flush)
        self._flush_lock = threading.Lock()

    def add_collector(self, collector: Collector) -> None:
        """Scrape ``collector`` too, whichever process answers."""
        self.collectors.append(collector)
        self.registry.register(collector)

    def _counter(self, name: str, documentation: str) -> Counter:
        return Counter(name, documentation, registry=self.registry)

    def _worker_gauge(self) -> Callable[[float], None]:
        name = "feedsvc_worker_snapshots"
        documentation = "Feed snapshots held in memory (and served) by each worker process"
        if self.multiproc_dir is not None:
            # liveall: one series per live process; the client adds the pid label itself.
            gauge = Gauge(name, documentation, registry=self.registry, multiprocess_mode="liveall")
            return gauge.set
        labelled = Gauge(name, documentation, ("pid",), registry=self.registry)
        return labelled.labels(str(os.getpid())).set

    def flush(self) -> None:
        """Fold this process's request counts and snapshot gauge into prometheus-client."""
        with self._flush_lock:
            self.tally.flush()
            if self._worker_snapshots is None:
                self._worker_snapshots = self._worker_gauge()
            self._worker_snapshots(len(self.snapshots.snapshots))

    def observe_run(self, result: RunResult) -> None:
        """Count one regeneration run (the Regenerator calls this after each run)."""
        self.runs.inc()
        if not result.ok:
            self.failures.inc()
        self.durations.observe(result.seconds)
        failed = [key for key in result.failed if key != WHOLE_RUN]
        for outcome, keys in (
            ("rendered", result.rendered),
            ("unchanged", result.unchanged),
            ("failed", failed),
        ):
            if keys:
                self.feeds.labels(outcome).inc(len(keys))

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The scrape: (body, Content-Type), text format or OpenMetrics as ``accept`` asks."""
        if self.flusher.running:
            # This process serves: its latest counts first. A process that serves nothing (the
            # scheduler, answering on FEEDSVC_METRICS_BIND) has none, and must not report a
            # worker's snapshot gauge.
            self.flush()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(NotModifiedShare(self._scrape_registry())), content_type

    def _scrape_registry(self) -> CollectorRegistry:
        if self.multiproc_dir is None:
            return self.registry
        reap_exited(self.multiproc_dir)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiproc_dir)  # type: ignore[no-untyped-call]
        for collector in self.collectors:
            registry.register(collector)
        return registry


def reap_exited(path: str) -> None:
    """Drop the live gauges of processes that have exited (granian has no child-exit hook)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = os.path.basename(name)[: -len(".db")].rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), path)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
