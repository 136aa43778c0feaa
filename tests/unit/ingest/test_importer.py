"""The importer's worker processes import exactly like one process: the same rejections, the
same counts, the same stored articles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.ingest import importer as importer_module
from feedsvc.ingest.importer import BATCH, PARALLEL_AFTER_BATCHES, ArticleImporter
from feedsvc.ingest.store_records import BatchResult

from tests.helpers.app import NEWSROOM, article, load, services


def _import(app: Flask, lines: list[bytes], workers: int) -> tuple[list[str], dict[str, int]]:
    s = services(app)
    rejected: list[str] = []
    counts: dict[str, int] = {}

    def report(numbers: list[int], result: BatchResult) -> None:
        for stored in result.stored:
            counts[stored.status] = counts.get(stored.status, 0) + 1
        rejected.extend(f"{numbers[r.index]}: {r.reason}" for r in result.rejected)

    importer = ArticleImporter(s.db, s.settings, s.clock, report, workers=workers)
    for number, line in enumerate(lines, start=1):
        importer.add(number, line)
    importer.finish()
    return rejected, counts


@pytest.mark.slow
def test_worker_processes_import_like_one_process(app: Flask, tmp_path: Any) -> None:
    load(app, NEWSROOM, [])
    count = BATCH * (PARALLEL_AFTER_BATCHES + 1) + 7
    lines = [
        json.dumps(article(f"bulk-{i}", "thoi-su", published_at="2026-11-19T08:00:00Z")).encode()
        for i in range(count)
    ]
    lines[5] = b'{"id": "broken'
    lines[BATCH * 3 + 2] = json.dumps(article("bad-cat", "khong-co")).encode()
    lines[BATCH * 3 + 3] = lines[BATCH * 3 + 4]  # a repeated id in one batch
    rejected, counts = _import(app, lines, workers=2)
    assert [r.split(":", 1)[0] for r in rejected] == ["6", str(BATCH * 3 + 3)]
    assert "JSON" in rejected[0] and "khong-co" in rejected[1]
    assert counts == {"created": count - 3, "superseded": 1}
    again_rejected, again = _import(app, lines, workers=1)
    assert again_rejected == rejected
    assert again == {"unchanged": count - 3, "superseded": 1}
    with services(app).db.reading() as session:
        assert store.count_articles(session) == count - 3


def test_batches_are_capped_by_bytes_as_well_as_lines(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Huge bodies make short batches: the lines held at once stay near BATCH_BYTES."""
    load(app, NEWSROOM, [])
    monkeypatch.setattr(importer_module, "BATCH_BYTES", 20_000)
    body = "Bien phong " * 500  # 5.5 kB of body per line
    lines = [
        json.dumps(article(f"big-{i}", "thoi-su", content_html=f"<p>{body}</p>")).encode()
        for i in range(10)
    ]
    batches: list[list[int]] = []
    s = services(app)
    importer = ArticleImporter(
        s.db, s.settings, s.clock, lambda numbers, _result: batches.append(numbers), workers=1
    )
    for number, line in enumerate(lines, start=1):
        importer.add(number, line)
    importer.finish()
    assert [len(b) for b in batches] == [4, 4, 2]  # 4 lines pass 20 kB; never 10 in one
    assert [n for b in batches for n in b] == list(range(1, 11))
    with s.db.reading() as session:
        assert store.count_articles(session) == 10
