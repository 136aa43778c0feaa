"""``feedsvc backup``: an online copy of a SQLite database (its backup API), never a copy of the
live file, which a write in progress (or the WAL beside it) would leave inconsistent.

PostgreSQL has its own tools (``pg_dump -Fc``), documented in docs/operations.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

from sqlalchemy.engine import make_url

from feedsvc.store.db import SQLITE_BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


def backup_sqlite(url: str, destination: str) -> int:
    """Copy the SQLite database of ``url`` to ``destination`` while it is in use (readers and
    writers carry on); returns the size in bytes. The copy is written beside ``destination``
    and renamed over it once complete and checked."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"{parsed.get_backend_name()}: backup copies SQLite databases only; for PostgreSQL "
            "use pg_dump -Fc (docs/operations.md), or feedsvc export"
        )
    source_path = parsed.database
    if not source_path or source_path == ":memory:" or not os.path.exists(source_path):
        raise BackupError(f"no SQLite database at {source_path!r}: run feedsvc init-db first")
    partial = f"{destination}.partial"
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    source = sqlite3.connect(source_path, timeout=timeout)
    try:
        target = sqlite3.connect(partial)
        try:
            # One step: one read transaction, a consistent copy. The database is in WAL mode
            # (store/db.py), where a reader never blocks the writers.
            source.backup(target, pages=-1)
            (check,) = target.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError(f"the copy fails its integrity check: {check}")
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    except sqlite3.Error as exc:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise BackupError(f"cannot copy {source_path}: {exc}") from None
    finally:
        source.close()
    os.replace(partial, destination)
    return os.path.getsize(destination)
