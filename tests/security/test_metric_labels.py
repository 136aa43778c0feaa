"""Issue 13, finding 6: the request tally kept one entry per path a client made up when feeds
answered 503 (a worker whose database was down at start-up): 20,000 random paths, 20,000 keys,
growing without bound. Only feeds that exist have a key and a label of their own."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.app import services
from tests.helpers.metrics import parse, series

RANDOM_PATHS = 5000


def requests_series(app: Flask) -> list[dict[str, str]]:
    body, _ = services(app).metrics.exposition(None)
    return series(parse(body.decode()), "feedsvc_feed_requests_total")


def test_random_paths_while_loading_share_one_key(unreachable_app: Flask) -> None:
    client = unreachable_app.test_client()
    for i in range(RANDOM_PATHS):
        assert client.get(f"/feeds/x{i}-{i * 7919}.rss").status_code == 503
    tally = services(unreachable_app).metrics.tally
    assert tally.counts == {503: {"": RANDOM_PATHS}}
    assert requests_series(unreachable_app) == [
        {"feed": "unknown", "format": "unknown", "status": "503"}
    ]
    assert len(tally._labels) == 1


def test_random_paths_and_methods_on_a_loaded_worker(newsroom: Flask, client: FlaskClient) -> None:
    for i in range(RANDOM_PATHS // 5):
        assert client.get(f"/feeds/r{i}.rss").status_code == 404
        assert client.post(f"/feeds/r{i}.atom").status_code == 404
        assert client.get(f"/feeds/thoi-su.rss?limit=x{i}").status_code == 400
        assert client.delete("/feeds/thoi-su.json").status_code == 405
    tally = services(newsroom).metrics.tally
    keys = {(status, path) for status, paths in tally.counts.items() for path in paths}
    assert keys == {(404, ""), (400, "/feeds/thoi-su.rss"), (405, "/feeds/thoi-su.json")}
    assert len(requests_series(newsroom)) == 3
