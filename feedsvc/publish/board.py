"""The version board: per feed, the newest version that one instance serves, shared by its
processes, so that none of them ever serves an older one.

An *instance* is the processes that serve one address together and share FEEDSVC_RUNTIME_DIR:
``make serve``'s web workers and its scheduler (or the two systemd units). The board is a small
file there, mapped into memory by each of them: one slot per feed, holding its key and the newest
version any of them has served or saved. A worker raises a feed's slot *before* it serves a new
version, and compares the version it holds with the slot on every request (one read of shared
memory); when it is behind, it loads the newer version before answering. The process that
regenerates raises the slot as soon as a version is saved, so from that moment every worker of
the instance serves it. Without FEEDSVC_RUNTIME_DIR (``make run``, tests, a lone process) the
board is the process's own: the same calls, on a list.

The header also holds what the instance reports to the others on the database
(:mod:`feedsvc.publish.instance`): ``reached``, the ``snapshots`` counter up to which every saved
snapshot is on the board, and ``alive``, when a web worker last looked at it.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import threading
import time
from collections.abc import Iterator, MutableSequence, Sequence
from contextlib import contextmanager
from typing import cast

BOARD_FILE = "versions.board"
MAGIC = int.from_bytes(b"FSVBRD01", "little")
CAPACITY = 16_384  # feeds (categories and all); a make serve start begins a new board
KEY_BYTES = 64  # the longest key: a category slug is at most 64 ASCII characters
HEADER_WORDS = 8  # magic, capacity, count, reached, alive (ms), instance id (2 words), spare
_COUNT, _REACHED, _ALIVE, _ID = 2, 3, 4, 5


class BoardError(RuntimeError):
    """The board file cannot be used; the message says what to do."""


class VersionBoard:
    """This process's own board (no FEEDSVC_RUNTIME_DIR): the instance is this process."""

    shared = False

    def __init__(self) -> None:
        self._words: MutableSequence[int] | memoryview = []
        # Indexed by slot on every feed request (the registry hands it to the hot path).
        self.values: Sequence[int] = self._words
        self._slots: dict[str, int] = {}
        self._reached = 0
        self._alive = -1e9  # monotonic time of the last stamp: never
        self._lock = threading.Lock()
        self.instance_id = secrets.token_hex(16)

    def raise_to(self, key: str, version: int) -> int:
        """Record that ``version`` of ``key`` is served (unless a newer one is); its slot."""
        with self._lock, self._locked():
            slot = self._slot(key)
            if self._words[slot] < version:
                self._words[slot] = version
            return slot

    def version(self, key: str) -> int:
        """The newest version of ``key`` served in this instance (0: none)."""
        slot = self._find(key)
        return 0 if slot is None else self.values[slot]

    @property
    def reached(self) -> int:
        """The ``snapshots`` counter up to which every saved snapshot is served here."""
        return self._reached

    def reach(self, counter: int) -> None:
        """Every snapshot saved up to ``counter`` is now on the board."""
        with self._lock:
            self._reached = max(self._reached, counter)

    def stamp(self) -> None:
        """A web worker of this instance is alive (called by each worker's watcher)."""
        self._alive = time.monotonic()

    def workers_alive(self, within: float) -> bool:
        """Whether a web worker stamped the board in the last ``within`` seconds (here: whether
        this process serves at all; a lone scheduler process does not)."""
        return time.monotonic() - self._alive <= within

    def close(self) -> None:
        """Let go of the board (nothing to do for a process's own)."""

    def _slot(self, key: str) -> int:
        slot = self._slots.get(key)
        if slot is None:
            words = cast(list[int], self._words)
            slot = self._slots[key] = len(words)
            words.append(0)
        return slot

    def _find(self, key: str) -> int | None:
        return self._slots.get(key)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        yield


class SharedBoard(VersionBoard):
    """The board in ``DIR/versions.board``, mapped by every process of the instance.

    Reads of a version are plain loads of an aligned 8-byte word (a request never takes a
    lock); every write happens under an exclusive ``flock`` on the file (and a thread lock,
    since ``flock`` does not exclude threads sharing one descriptor), and new keys are read
    under a shared one. The file is opened on first use, so a command that never serves or
    saves a feed never creates it.
    """

    shared = True

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.path = os.path.join(directory, BOARD_FILE)
        self._fd = -1
        self._pid = 0  # the process that opened _fd
        self._map: mmap.mmap | None = None
        self._header: memoryview | None = None
        self._keys = HEADER_WORDS * 8 + CAPACITY * 8
        self._known = 0  # slots whose key this process has read

    def open(self) -> None:
        """Map the board, creating it when this process is the first of the instance."""
        if self._map is not None:
            return
        with self._lock:
            if self._map is None:
                self._open()

    def _open(self) -> None:
        size = self._keys + CAPACITY * KEY_BYTES
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise BoardError(
                f"cannot open the version board {self.path}: {exc.strerror}; FEEDSVC_RUNTIME_DIR "
                "must be a directory every process of this instance can write"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            found = os.fstat(fd).st_size
            if found == 0:
                os.ftruncate(fd, size)  # sparse: only the pages in use take memory
            elif found != size:
                raise self._not_a_board()
            mapped = mmap.mmap(fd, size)
            header = memoryview(mapped)[: HEADER_WORDS * 8].cast("Q")
            if found == 0:
                header[0], header[1] = MAGIC, CAPACITY
                mapped[_ID * 8 : _ID * 8 + 16] = secrets.token_bytes(16)
            elif header[0] != MAGIC or header[1] != CAPACITY:
                header.release()
                mapped.close()
                raise self._not_a_board()
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BaseException:
            os.close(fd)
            raise
        self.instance_id = mapped[_ID * 8 : _ID * 8 + 16].hex()
        words = memoryview(mapped)[HEADER_WORDS * 8 : self._keys].cast("Q")
        self.values = self._words = words
        self._header, self._map, self._fd, self._pid = header, mapped, fd, os.getpid()

    def _not_a_board(self) -> BoardError:
        return BoardError(
            f"{self.path} is not a version board of this feedsvc: stop the instance, remove "
            "the file and start it again"
        )

    def raise_to(self, key: str, version: int) -> int:
        """Record that ``version`` of ``key`` is served (unless a newer one is); its slot."""
        self.open()
        return super().raise_to(key, version)

    def version(self, key: str) -> int:
        """The newest version of ``key`` served in this instance (0: none)."""
        self.open()
        return super().version(key)

    @property
    def reached(self) -> int:
        """The ``snapshots`` counter up to which every saved snapshot is served here."""
        self.open()
        assert self._header is not None
        return int(self._header[_REACHED])

    def reach(self, counter: int) -> None:
        """Every snapshot saved up to ``counter`` is now on the board."""
        self.open()
        assert self._header is not None
        with self._lock, self._locked():
            if self._header[_REACHED] < counter:
                self._header[_REACHED] = counter

    def stamp(self) -> None:
        """A web worker of this instance is alive (called by each worker's watcher)."""
        self.open()
        assert self._header is not None
        self._header[_ALIVE] = int(time.time() * 1000)

    def workers_alive(self, within: float) -> bool:
        """Whether a web worker stamped the board in the last ``within`` seconds."""
        self.open()
        assert self._header is not None
        return time.time() * 1000 - self._header[_ALIVE] <= within * 1000

    def close(self) -> None:
        """Unmap the board (at shutdown: a request after this would fail)."""
        with self._lock:
            if self._map is None:
                return
            for view in (self._header, self._words):
                if isinstance(view, memoryview):
                    view.release()
            self._words = []
            self.values = self._words
            self._map.close()
            os.close(self._fd)
            self._map, self._header, self._fd = None, None, -1
            self._slots.clear()
            self._known = 0

    def _slot(self, key: str) -> int:
        slot = self._find_locked(key)
        if slot is not None:
            return slot
        assert self._header is not None and self._map is not None
        count = int(self._header[_COUNT])
        if count >= CAPACITY:
            raise BoardError(
                f"the version board {self.path} is full ({CAPACITY} feeds); restart the "
                "instance to begin a new one"
            )
        raw = key.encode()
        if len(raw) > KEY_BYTES:
            raise BoardError(f"feed key {key!r} is longer than {KEY_BYTES} bytes")
        start = self._keys + count * KEY_BYTES
        self._map[start : start + KEY_BYTES] = raw.ljust(KEY_BYTES, b"\0")
        self._header[_COUNT] = count + 1  # after the key: a reader sees it whole
        self._slots[key] = count
        self._known = count + 1
        return count

    def _find(self, key: str) -> int | None:
        slot = self._slots.get(key)
        if slot is None and self._header is not None and self._header[_COUNT] != self._known:
            with self._lock, self._locked(fcntl.LOCK_SH):
                self._read_keys()
            slot = self._slots.get(key)
        return slot

    def _find_locked(self, key: str) -> int | None:
        """The slot of ``key`` while this process holds the exclusive lock."""
        self._read_keys()
        return self._slots.get(key)

    def _read_keys(self) -> None:
        assert self._header is not None and self._map is not None
        count = int(self._header[_COUNT])
        for slot in range(self._known, count):
            start = self._keys + slot * KEY_BYTES
            key = bytes(self._map[start : start + KEY_BYTES]).rstrip(b"\0").decode()
            self._slots[key] = slot
        self._known = count

    @contextmanager
    def _locked(self, kind: int = fcntl.LOCK_EX) -> Iterator[None]:
        if self._pid != os.getpid():
            # Forked after opening (a server that loads the app before forking): a lock on
            # the inherited descriptor would be shared with the parent, so take a new one.
            os.close(self._fd)
            self._fd, self._pid = os.open(self.path, os.O_RDWR), os.getpid()
        fcntl.flock(self._fd, kind)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def open_board(runtime_dir: str | None) -> VersionBoard:
    """The instance's shared board in ``runtime_dir``, or this process's own without one."""
    return SharedBoard(runtime_dir) if runtime_dir else VersionBoard()
