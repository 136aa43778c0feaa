"""The version board: per feed, the newest version an instance serves, shared by its processes
through one mapped file (feedsvc/publish/board.py)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedsvc.publish.board import (
    BOARD_FILE,
    KEY_BYTES,
    BoardError,
    SharedBoard,
    VersionBoard,
    open_board,
)


@pytest.fixture
def boards(tmp_path: Path) -> Iterator[tuple[SharedBoard, SharedBoard]]:
    """Two processes' views of one instance's board (two mappings of the same file)."""
    first, second = SharedBoard(str(tmp_path / "run")), SharedBoard(str(tmp_path / "run"))
    yield first, second
    first.close()
    second.close()


def test_a_process_on_its_own_keeps_the_newest_version() -> None:
    board = open_board(None)
    assert type(board) is VersionBoard and not board.shared
    assert board.version("thoi-su") == 0
    slot = board.raise_to("thoi-su", 3)
    assert board.raise_to("thoi-su", 2) == slot  # an older version never lowers it
    assert board.version("thoi-su") == 3 and board.values[slot] == 3
    board.reach(7)
    board.reach(5)
    assert board.reached == 7


def test_a_process_on_its_own_is_alive_once_its_watcher_stamped() -> None:
    board = VersionBoard()
    assert not board.workers_alive(3.0)  # a scheduler process: serves nothing
    board.stamp()
    assert board.workers_alive(3.0)


def test_what_one_process_raises_every_other_reads(
    boards: tuple[SharedBoard, SharedBoard],
) -> None:
    first, second = boards
    slot = first.raise_to("thoi-su", 4)
    assert second.version("thoi-su") == 4  # a key the second process never saw
    assert second.values[slot] == 4
    assert second.raise_to("thoi-su", 9) == slot
    assert first.version("thoi-su") == 9 and first.values[slot] == 9
    assert first.raise_to("kinh-te", 1) != slot
    assert second.instance_id == first.instance_id
    assert len(first.instance_id) == 32


def test_the_reached_counter_and_the_workers_stamp_are_shared(
    boards: tuple[SharedBoard, SharedBoard],
) -> None:
    first, second = boards
    assert not second.workers_alive(3.0)
    first.stamp()
    assert second.workers_alive(3.0)
    first.reach(12)
    second.reach(10)
    assert second.reached == 12 and first.reached == 12


def test_nothing_is_created_until_the_board_is_used(tmp_path: Path) -> None:
    board = SharedBoard(str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    assert board.version("thoi-su") == 0
    assert (tmp_path / "run" / BOARD_FILE).is_file()
    board.close()


def test_a_board_outlives_its_processes(tmp_path: Path) -> None:
    board = SharedBoard(str(tmp_path))
    board.raise_to("all", 41)
    board.close()
    again = SharedBoard(str(tmp_path))
    assert again.version("all") == 41
    again.close()


def test_a_file_that_is_no_board_is_refused(tmp_path: Path) -> None:
    (tmp_path / BOARD_FILE).write_bytes(b"not a board")
    with pytest.raises(BoardError, match="remove the file"):
        SharedBoard(str(tmp_path)).version("all")


def test_an_unusable_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(BoardError, match="FEEDSVC_RUNTIME_DIR must be a directory"):
        SharedBoard(str(tmp_path / "file" / "run")).raise_to("all", 1)


def test_a_key_longer_than_a_slot_is_refused(tmp_path: Path) -> None:
    board = SharedBoard(str(tmp_path))
    with pytest.raises(BoardError, match="longer than"):
        board.raise_to("x" * (KEY_BYTES + 1), 1)
    board.close()


def _raise_many(directory: str, keys: list[str], version: int) -> None:
    board = SharedBoard(directory)
    for key in keys:
        board.raise_to(key, version)
    board.close()
    os._exit(0)  # a forked child: no pytest teardown here


def test_processes_adding_feeds_at_once_never_share_a_slot(tmp_path: Path) -> None:
    """Four processes add the same 200 feeds at the same time: one slot per feed, and each
    holds the highest version raised."""
    keys = [f"chuyen-muc-{i:03d}" for i in range(200)]
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_raise_many, args=(str(tmp_path), keys[::step], version))
        for step, version in ((1, 5), (1, 7), (2, 9), (3, 6))
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    board = SharedBoard(str(tmp_path))
    for i, key in enumerate(keys):
        assert board.version(key) == (9 if i % 2 == 0 else 7), key
    slots = {board.raise_to(key, 1) for key in keys}
    assert len(slots) == len(keys)
    board.close()


def _raise_many_inherited(board: SharedBoard, keys: list[str], version: int, go: Any) -> None:
    go.wait(10)
    for key in keys:
        board.raise_to(key, version)
    os._exit(0)


def test_processes_forked_after_opening_still_exclude_each_other(tmp_path: Path) -> None:
    """A server that loads the app before forking: the children use the board the parent
    opened, each adding feeds of its own at the same time, and never take one slot for two
    feeds (a lock on the inherited descriptor would be shared with the others)."""
    board = SharedBoard(str(tmp_path))
    board.raise_to("all", 1)
    keys = [f"chuyen-muc-{i:04d}" for i in range(4000)]
    context = multiprocessing.get_context("fork")
    go = context.Event()
    children = [
        context.Process(target=_raise_many_inherited, args=(board, keys[n::4], n + 2, go))
        for n in range(4)
    ]
    for child in children:
        child.start()
    go.set()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert [board.version(key) for key in keys] == [i % 4 + 2 for i in range(len(keys))]
    board.close()
