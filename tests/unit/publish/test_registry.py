"""One version at a time across the workers of an instance (issue 14, problem 2): a worker whose
snapshot is older than the version board names loads the newer one before it answers, so a
client never sees a feed go back (feedsvc/publish/registry.py, the hot path's lookup).

The "workers" here are apps on one database and one FEEDSVC_RUNTIME_DIR, with their snapshot
watchers stopped, so that only the request path can bring them up to date.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from feedsvc import create_app
from feedsvc.publish.registry import SnapshotRegistry
from feedsvc.store.db import Database

from tests.helpers.app import article, category, load, services


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


@pytest.fixture
def settings_overrides(runtime_dir: Path) -> dict[str, str]:
    return {"FEEDSVC_RUNTIME_DIR": str(runtime_dir)}


def worker(app: Flask, runtime_dir: Path | None) -> Flask:
    """Another web worker on the app's database: of the same instance when ``runtime_dir`` is
    the app's, else a process on its own. It loads what is stored, then stops watching."""
    s = services(app)
    config: dict[str, Any] = {
        "FEEDSVC_DATABASE_URL": s.settings.database_url,
        "FEEDSVC_SCHEDULER": "off",
        "FEEDSVC_BASE_URL": s.settings.base_url,
        "FEEDSVC_SITE_URL": s.settings.site_url,
        "FEEDSVC_RUNTIME_DIR": str(runtime_dir or ""),
        "CLOCK": s.clock,
    }
    other = create_app(config)
    assert other.test_client().get("/feeds/all.json").status_code == 200
    services(other).watcher.stop()
    return other


@pytest.fixture
def workers(newsroom: Flask, runtime_dir: Path) -> Iterator[tuple[Flask, Flask]]:
    """The newsroom app (it regenerates) and a second worker of its instance."""
    second = worker(newsroom, runtime_dir)
    yield newsroom, second
    services(second).shutdown()


def ids(app: Flask, path: str = "/feeds/all.json") -> list[str]:
    response = app.test_client().get(path)
    assert response.status_code == 200, response.status_code
    return [item["id"].rsplit("/", 1)[1] for item in json.loads(response.data)["items"]]


def publish(app: Flask, article_id: str, *slugs: str) -> None:
    """Store an article and regenerate in ``app`` (which puts each new version on the board)."""
    load(
        app,
        [],
        [article(article_id, *(slugs or ("thoi-su",)), published_at="2026-11-20T09:00:00+07:00")],
    )
    assert services(app).regenerator.run().ok


def test_a_worker_behind_the_board_loads_the_new_version_before_answering(
    workers: tuple[Flask, Flask], runtime_dir: Path
) -> None:
    first, second = workers
    alone = worker(first, None)  # the same, without the shared board: the old behaviour
    try:
        publish(first, "new-1")
        assert ids(first)[0] == "new-1"
        assert ids(second)[0] == "new-1"  # its watcher is stopped: loaded on this request
        assert ids(alone)[0] != "new-1"  # a process on its own still serves the old version
    finally:
        services(alone).shutdown()


def test_every_format_and_encoding_follows_the_board(workers: tuple[Flask, Flask]) -> None:
    first, second = workers
    before = second.test_client().get("/feeds/thoi-su.rss", headers={"Accept-Encoding": "gzip"})
    publish(first, "new-2")
    for fmt in ("rss", "atom", "json"):
        for encoding in ("gzip", "identity"):
            headers = {"Accept-Encoding": encoding}
            mine = first.test_client().get(f"/feeds/thoi-su.{fmt}", headers=headers)
            theirs = second.test_client().get(f"/feeds/thoi-su.{fmt}", headers=headers)
            assert (theirs.status_code, theirs.headers["ETag"], theirs.data) == (
                200,
                mine.headers["ETag"],
                mine.data,
            )
    # A client revalidating with the ETag it had gets the new version, not a 304.
    again = second.test_client().get(
        "/feeds/thoi-su.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": before.headers["ETag"]},
    )
    assert again.status_code == 200


def test_a_feed_another_worker_serves_is_never_404(workers: tuple[Flask, Flask]) -> None:
    first, second = workers
    s = services(first)
    load(first, [category("the-thao", "Thể thao")], [])
    publish(first, "sport-1", "the-thao")
    assert ids(first, "/feeds/the-thao.json") == ["sport-1"]
    assert ids(second, "/feeds/the-thao.json") == ["sport-1"]
    assert second.test_client().get("/feeds/the-thao.xml").status_code == 404
    assert s.registry.board.version("the-thao") >= 1


def test_a_worker_that_cannot_load_the_newer_version_answers_503(
    workers: tuple[Flask, Flask], tmp_path: Path
) -> None:
    """Serving the old version would take a client back in time: 503 until it can load."""
    first, second = workers
    registry = services(second).registry
    publish(first, "new-3")
    down = tmp_path / "down.db"
    down.mkdir()  # SQLite cannot open a directory
    reachable, registry.db = registry.db, Database(f"sqlite:///{down}")
    try:
        response = second.test_client().get("/feeds/all.json")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        assert registry.db is not None
        registry.db.dispose()
        registry.db = reachable
    assert ids(second)[0] == "new-3"


def test_a_database_behind_the_board_is_served_and_asked_once(
    workers: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Only a database restored from a backup holds less than the board: its newest version is
    served, with one warning, and not asked for again on every request."""
    first, second = workers
    held = services(second).registry.snapshots["thoi-su"].version
    services(first).registry.board.raise_to("thoi-su", held + 5)
    loads: list[str] = []
    real_load = SnapshotRegistry._load

    def counted(self: SnapshotRegistry, key: str, wanted: int) -> None:
        loads.append(key)
        real_load(self, key, wanted)

    monkeypatch.setattr(SnapshotRegistry, "_load", counted)
    caplog.set_level(logging.WARNING, logger="feedsvc.publish.registry")
    for _ in range(3):
        assert second.test_client().get("/feeds/thoi-su.rss").status_code == 200
    assert loads == ["thoi-su"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "feedsvc.publish.registry"]
    assert len(warnings) == 1 and f"version {held + 5}" in warnings[0]


def test_an_install_is_on_the_board_before_it_is_served(newsroom: Flask) -> None:
    registry = services(newsroom).registry
    snapshot, _entry, slot = registry.routes["/feeds/kinh-te.atom"]
    assert registry.board.shared
    assert registry.board.version("kinh-te") == snapshot.version == registry.served[slot]
    assert not registry.install(snapshot)  # the same version again: nothing changes
