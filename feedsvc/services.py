"""The long-lived parts of one feedsvc process, wired together once by create_app."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import ConfigError, Settings
from feedsvc.db import Database
from feedsvc.regenerate import Regenerator
from feedsvc.scheduler import RegenerationScheduler
from feedsvc.web.registry import SnapshotRegistry, SnapshotWatcher

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    registry: SnapshotRegistry
    watcher: SnapshotWatcher
    regenerator: Regenerator
    scheduler: RegenerationScheduler | None = None
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, clock: Clock) -> Services:
        """Build every part; nothing runs yet."""
        db = Database(settings.database_url)
        registry = SnapshotRegistry()
        regenerator = Regenerator(db, settings, clock, listeners=[registry.install])
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            registry=registry,
            watcher=SnapshotWatcher(registry, db),
            regenerator=regenerator,
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
            if self.settings.scheduler:
                self.start_scheduler()

    def start_scheduler(self) -> RegenerationScheduler:
        """Run regeneration inside this process."""
        if self.scheduler is None:
            self.scheduler = RegenerationScheduler(
                self.regenerator, self.settings.regenerate_seconds
            )
            self.scheduler.start()
        return self.scheduler

    def written(self) -> None:
        """Something was written by this process: regenerate soon."""
        if self.scheduler is not None:
            self.scheduler.wake()

    def shutdown(self) -> None:
        """Stop background work (tests, process exit)."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        self.watcher.stop()
        self.db.dispose()

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
