"""The long-lived parts of one feedsvc process, wired together once by create_app."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import ConfigError, Settings
from feedsvc.ops.metrics import Metrics
from feedsvc.publish import purge
from feedsvc.publish.board import open_board
from feedsvc.publish.instance import InstanceReporter
from feedsvc.publish.purge import CachePurger
from feedsvc.publish.regenerate import Regenerator
from feedsvc.publish.registry import SnapshotRegistry, SnapshotWatcher
from feedsvc.publish.scheduler import RegenerationScheduler
from feedsvc.stats.aggregate import known_feeds
from feedsvc.stats.gauges import AudienceCollector
from feedsvc.stats.service import AudienceStats
from feedsvc.store.db import Database
from feedsvc.websub import BuiltInHub, ExternalHubNotifier, WebSubService
from feedsvc.websub import build as build_websub
from feedsvc.websub.gate import DeliveryGate

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    registry: SnapshotRegistry
    watcher: SnapshotWatcher
    regenerator: Regenerator
    metrics: Metrics
    reporter: InstanceReporter  # this instance's report, where the hub runs (shared board)
    scheduler: RegenerationScheduler | None = None
    websub: WebSubService | None = None  # the built-in hub or an external hub's notifier
    stats: AudienceStats | None = None  # FEEDSVC_STATS=on: who fetches the feeds
    purger: CachePurger | None = None  # purges the caches in front (FEEDSVC_PURGE_*)
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, clock: Clock) -> Services:
        """Build every part; nothing runs yet."""
        db = Database(settings.database_url)
        # The instance's version board (FEEDSVC_RUNTIME_DIR; else this process's own): the
        # regenerator's install puts each saved version on it before any delivery is queued.
        board = open_board(settings.runtime_dir)
        registry = SnapshotRegistry(db, board)
        regenerator = Regenerator(db, settings, clock, listeners=[registry.install])
        websub = build_websub(settings, db, clock)
        if websub is not None:
            # Runs where regeneration runs: it only queues rows (or a notification).
            regenerator.listeners.append(websub.on_snapshot)
        purger = purge.build(settings)
        gate = DeliveryGate(db, board, clock)
        if purger is not None:
            # Purged once the instances serve the new version; the hub's deliveries wait for it.
            purger.ready = gate.served
            gate.purger = purger
            regenerator.listeners.append(purger.on_snapshot)
        if isinstance(websub, BuiltInHub):
            websub.gate = gate
        elif isinstance(websub, ExternalHubNotifier) and purger is not None:
            websub.gate = purger.wait
        metrics = Metrics(db, registry, clock)
        regenerator.run_observers.append(metrics.observe_run)
        stats = None
        if settings.stats:
            stats = AudienceStats.from_settings(db, clock, settings)
        if settings.stats or settings.stats_token is not None:
            metrics.add_collector(
                AudienceCollector(
                    db,
                    clock,
                    lambda when: when.astimezone(settings.timezone).date(),
                    lambda: known_feeds(registry.known_paths),
                )
            )
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            registry=registry,
            watcher=SnapshotWatcher(registry, db),
            regenerator=regenerator,
            metrics=metrics,
            reporter=InstanceReporter(board, db, clock),
            websub=websub,
            stats=stats,
            purger=purger,
        )

    def start_background(self) -> None:
        """Start the snapshot watcher and, when FEEDSVC_SCHEDULER=on, the scheduler (once)."""
        self.watcher.ensure_running()
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.metrics.flusher.start()
            if self.stats is not None:
                self.stats.start()
            if self.settings.scheduler:
                self.start_scheduler()

    def start_scheduler(self) -> RegenerationScheduler:
        """Run regeneration inside this process."""
        if self.scheduler is None:
            self.scheduler = RegenerationScheduler(
                self.regenerator, self.settings.regenerate_seconds
            )
            self.scheduler.start()
            self.start_websub()
        return self.scheduler

    def start_websub(self) -> None:
        """Run the WebSub hub's verifications and deliveries in this process: the one that
        runs the scheduler (``make run``, or ``flask scheduler`` under ``make serve``)."""
        if self.websub is not None:
            self.websub.start()
            if isinstance(self.websub, BuiltInHub) and self.registry.board.shared:
                # The hubs of every instance wait on the reports: written where a hub runs.
                self.reporter.start()

    def written(self) -> None:
        """Something was written by this process: regenerate soon."""
        if self.scheduler is not None:
            self.scheduler.wake()

    def shutdown(self) -> None:
        """Stop background work (tests, process exit)."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        if self.websub is not None:
            self.websub.stop()
        if self.purger is not None:
            self.purger.stop()
        self.regenerator.stop_pool()
        self.watcher.stop()
        self.reporter.stop()
        self.metrics.flusher.stop()
        if self.stats is not None:
            self.stats.stop()
        self.db.dispose()
        self.registry.board.close()

    def check_tag_authority(self) -> None:
        """Record FEEDSVC_TAG_AUTHORITY on first use; refuse a later different value."""
        try:
            with self.db.writing() as session:
                recorded = store.get_meta(session, "tag_authority")
                if recorded is None:
                    store.set_meta(session, "tag_authority", self.settings.tag_authority)
                    return
        except Exception as exc:
            # No schema yet (before init-db) or no database: checked again at the next start.
            log.debug("tag authority not checked: %s", exc)
            return
        if recorded != self.settings.tag_authority:
            raise ConfigError(
                f"FEEDSVC_TAG_AUTHORITY: this database's item ids use {recorded!r}, not "
                f"{self.settings.tag_authority!r}; changing it would make every reader and bot "
                f"see every item as new. Set FEEDSVC_TAG_AUTHORITY={recorded}."
            )
