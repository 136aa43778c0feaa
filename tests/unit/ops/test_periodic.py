"""The per-process periodic thread behind the snapshot watcher and the metrics flusher."""

from __future__ import annotations

import os
import threading
import time
import warnings

import pytest

from feedsvc.ops.periodic import ProcessThread


def test_ticks_survive_errors_and_start_is_once_per_process() -> None:
    calls: list[str] = []

    def tick() -> None:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise RuntimeError("first tick fails")

    before: list[int] = []
    thread = ProcessThread("feedsvc-test", tick, 0.01)
    thread.start(before=lambda: before.append(1))
    thread.start(before=lambda: before.append(2))  # already running here: nothing
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.stop()
    assert before == [1] and len(calls) >= 3 and set(calls) == {"feedsvc-test"}
    assert not thread.running
    settled = len(calls)
    time.sleep(0.05)
    assert len(calls) == settled  # stopped means stopped


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_not_running_until_it_starts() -> None:
    thread = ProcessThread("feedsvc-test", lambda: None, 10)
    thread.start()
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking with threads: the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: its parent's thread did not come along
        os.write(write, b"1" if not thread.running else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and thread.running
    thread.stop()
