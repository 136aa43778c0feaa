"""Concurrent writers of the same new article: one creates it, the others replace it."""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask

from feedsvc.ingest.store_records import put_article

from tests.helpers.app import NEWSROOM, article, load, services

WRITERS = 4


def test_simultaneous_first_puts_of_one_id_all_succeed(app: Flask) -> None:
    load(app, NEWSROOM, [])
    s = services(app)
    statuses: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def write(article_id: str, barrier: threading.Barrier, n: int) -> None:
        record = article(article_id, "thoi-su", title=f"Bản {n}")
        barrier.wait()
        try:
            _, status = put_article(s.db, s.settings, s.clock, article_id, record)
            with lock:
                statuses[status] += 1
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            with lock:
                errors.append(exc)

    for round_ in range(5):
        barrier = threading.Barrier(WRITERS)
        threads = [
            threading.Thread(target=write, args=(f"race-{round_}", barrier, n))
            for n in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert statuses["created"] == 5
    assert statuses["created"] + statuses["replaced"] + statuses["unchanged"] == 5 * WRITERS
