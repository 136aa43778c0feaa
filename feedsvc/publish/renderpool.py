"""The render process: during a large regeneration it renders each feed's items while this
process reads the next feed and saves the previous one.

Rendering is pure Python and holds the GIL, so a thread could not take it over: on one process
a full regeneration used 1.15 cores. The process is spawned, not forked (the scheduler has
threads), and started with the scheduler, so a regeneration never waits for it to boot. Jobs go
over a pipe from the regenerating thread itself, in order, one reply per job, with no helper
threads (a ProcessPoolExecutor, whose feeder and result threads need the GIL too, made a full
regeneration slower, not faster). If the process dies, the feeds it held are rendered here, and
the next run starts a new one.
"""

from __future__ import annotations

import logging
import threading
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from feedsvc.publish.assemble import render_items
from feedsvc.publish.reuse import RunItems
from feedsvc.render import Parts
from feedsvc.render.feed import Feed

log = logging.getLogger(__name__)

_FORGET = None  # the message that empties the process's items of the run


class RenderError(Exception):
    """The render process could not render a feed (the message names the original error)."""


class RenderPool:
    """One render process, used by regeneration runs once :meth:`start` was called."""

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._wanted = False
        self._lock = threading.Lock()
        self._next_id = 0

    @property
    def started(self) -> bool:
        return self._wanted

    def start(self) -> None:
        """Start the process now (it imports the renderers while the caller goes on)."""
        self._wanted = True
        self._ensure()

    def stop(self) -> None:
        """Stop the process."""
        self._wanted = False
        self._discard()

    def new_run(self) -> bool:
        """Begin a run; False when there is no process to use (render here)."""
        if not self._wanted:
            return False
        try:
            self._ensure().send(_FORGET)
        except (OSError, ValueError) as exc:
            self.lost(exc)
            return False
        return True

    def ping(self) -> bool:
        """Wait until the process answers (it has booted); False when it is gone."""
        job = self.send(None, ())
        return job is not None and self.receive(job) is not None

    def end_run(self) -> None:
        """The run is over: the process lets go of its items (tens of MB after a full run)."""
        conn = self._conn
        if conn is not None:
            try:
                conn.send(_FORGET)
            except (OSError, ValueError) as exc:
                self.lost(exc)

    def send(self, sent: Feed | None, sent_keys: tuple[str, ...]) -> int | None:
        """Queue one feed's items; the job's number for :meth:`receive`, or None when the
        process is gone (render them here)."""
        conn = self._conn
        if conn is None:
            return None
        self._next_id += 1
        try:
            conn.send((self._next_id, sent, sent_keys))
        except (OSError, ValueError) as exc:
            self.lost(exc)
            return None
        return self._next_id

    def receive(self, job_id: int) -> dict[str, Parts] | None:
        """The parts of job ``job_id``; None when the process died meanwhile.

        Replies to older jobs (of a run that stopped halfway) are skipped. Raises
        :class:`RenderError` when the render process failed on that feed.
        """
        conn = self._conn
        if conn is None:
            return None
        try:
            while True:
                got, ok, value = conn.recv()
                if got == job_id:
                    break
        except (EOFError, OSError) as exc:
            self.lost(exc)
            return None
        if not ok:
            raise RenderError(value)
        return value  # type: ignore[no-any-return]

    def lost(self, exc: BaseException) -> None:
        """The process is gone: forget it (the next run starts another)."""
        log.warning("render process lost (%s); rendering in this process", exc)
        self._discard()

    def _ensure(self) -> Connection:
        with self._lock:
            if self._conn is None:
                spawn = get_context("spawn")
                ours, theirs = spawn.Pipe()
                process = spawn.Process(
                    target=serve, args=(theirs,), name="feedsvc-render", daemon=True
                )
                process.start()
                theirs.close()
                self._process, self._conn = process, ours
            return self._conn

    def _discard(self) -> None:
        with self._lock:
            conn, process = self._conn, self._process
            self._process = self._conn = None
        if conn is not None:
            conn.close()  # the process reads EOF and exits
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def serve(conn: Connection) -> None:
    """The render process: answer each job in order until the pipe closes."""
    cache = RunItems()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is _FORGET:
            cache = RunItems()
            continue
        job_id, sent, sent_keys = job
        if sent is None:  # a ping
            conn.send((job_id, True, {}))
            continue
        try:
            reply: tuple[int, bool, object] = (job_id, True, render_items(sent, sent_keys, cache))
        except Exception as exc:  # the feed fails in the run, as if rendered there
            reply = (job_id, False, f"{type(exc).__name__}: {exc}")
        conn.send(reply)
