"""The ``import-articles`` pipeline: lines in batches of 1000, parsed and validated (in worker
processes once the input proves large), stored in order, one transaction per batch.

Parsing, validation, HTML sanitising and hashing cost several times what the database writes do
and need no database, so on a large file they run in ``os.cpu_count()`` spawned processes while
this one writes: one code path all the same (:func:`feedsvc.ingest.store_records.prepare_lines` and
:func:`feedsvc.ingest.store_records.store_prepared`), and batches are stored in file order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context

from feedsvc import store
from feedsvc.clock import Clock
from feedsvc.config import Settings
from feedsvc.ingest.store_records import BatchResult, PreparedBatch, prepare_lines, store_prepared
from feedsvc.store.db import Database

BATCH = 1000
# And at most this many bytes of lines: a line may be 8 MiB (cli.MAX_LINE_BYTES), and a few
# batches are in flight at once, so a file of huge bodies must not make 1000-line batches.
BATCH_BYTES = 16 * 1024 * 1024
# Small imports (the demo, a day's corrections) never pay for starting worker processes: the
# first batches are held until the input proves longer, then go to the workers with the rest.
PARALLEL_AFTER_BATCHES = 2

Report = Callable[[list[int], BatchResult], None]


class ArticleImporter:
    """Feed it numbered lines with :meth:`add`; :meth:`finish` stores the rest and stops."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        report: Report,
        workers: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.report = report  # called with each stored batch's line numbers and its result
        self.workers = workers if workers is not None else os.cpu_count() or 1
        self._numbers: list[int] = []
        self._lines: list[bytes] = []
        self._bytes = 0  # in self._lines
        self._batches = 0
        self._held: list[tuple[list[int], list[bytes]]] = []  # until the input proves large
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[tuple[list[int], Future[PreparedBatch]]] = deque()

    def add(self, number: int, line: bytes) -> None:
        """One line of JSON (``number`` is its line in the file, for the report)."""
        self._numbers.append(number)
        self._lines.append(line)
        self._bytes += len(line)
        if len(self._lines) >= BATCH or self._bytes >= BATCH_BYTES:
            self._submit()

    def finish(self) -> None:
        """Store everything still buffered or in flight, then stop the workers."""
        try:
            if self._lines:
                self._submit()
            held, self._held = self._held, []
            for numbers, lines in held:  # a small input: done here, no worker started
                self._store_here(numbers, lines)
            while self._pending:
                self._store_next()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers (dropping batches not stored yet, e.g. after Ctrl-C)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self) -> None:
        numbers, lines = self._numbers, self._lines
        self._numbers, self._lines, self._bytes = [], [], 0
        self._batches += 1
        if self._pool is not None:
            self._send(numbers, lines)
        elif self.workers <= 1:
            self._store_here(numbers, lines)
        elif self._batches <= PARALLEL_AFTER_BATCHES:
            self._held.append((numbers, lines))
        else:
            # Spawned, not forked: the parent holds database connections and maybe threads.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            # The held batches go to the workers too: validated here, they kept the other
            # cores idle while this process did the work of a worker.
            held, self._held = self._held, []
            for batch in [*held, (numbers, lines)]:
                self._send(*batch)

    def _send(self, numbers: list[int], lines: list[bytes]) -> None:
        """Hand a batch to the workers; store the oldest results while enough are in flight."""
        assert self._pool is not None
        future = self._pool.submit(prepare_lines, lines, self.settings, self._known_slugs())
        self._pending.append((numbers, future))
        # A few batches ahead keep every worker busy; more would only hold memory.
        while len(self._pending) > 2 * self.workers:
            self._store_next()

    def _store_here(self, numbers: list[int], lines: list[bytes]) -> None:
        """Prepare and store a batch in this process."""
        prepared = prepare_lines(lines, self.settings, self._known_slugs())
        self.report(numbers, store_prepared(self.db, self.clock, prepared))

    def _store_next(self) -> None:
        numbers, future = self._pending.popleft()
        self.report(numbers, store_prepared(self.db, self.clock, future.result()))

    def _known_slugs(self) -> set[str]:
        # Read per batch: a category created during a long import is known from then on.
        with self.db.reading() as session:
            return store.category_slugs(session)
