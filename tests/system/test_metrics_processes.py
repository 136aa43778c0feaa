"""/metrics across processes: workers sharing a PROMETHEUS_MULTIPROC_DIR add up, and a worker's
own series leave with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers.metrics import parse, series, value
from tests.helpers.paths import REPO

WORKER = """
import json, os, sys
from feedsvc import create_app, services_of

app = create_app()
services = services_of(app)
services.registry.refresh(services.db)
client = app.test_client()
if sys.argv[1] == "count":
    for _ in range(int(sys.argv[2])):
        assert client.get("/feeds/thoi-su.rss").status_code == 200
    assert client.get("/feeds/no-such.atom").status_code == 404
    services.regenerator.run(force=True)
    services.shutdown()
else:
    assert client.get("/metrics").status_code == 401  # only for the bearer of the token
    body = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    body = body.get_data(as_text=True)
    services.shutdown()
    print(json.dumps({"pid": os.getpid(), "body": body}))
"""


@pytest.mark.slow
def test_processes_sharing_a_multiprocess_dir_add_up(
    newsroom: Flask, database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "FEEDSVC_DATABASE_URL": database_url,
        "FEEDSVC_SCHEDULER": "off",
        "FEEDSVC_BASE_URL": "http://feeds.test",
        "FEEDSVC_SITE_URL": "https://bienphong.example",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "FEEDSVC_METRICS_TOKEN": "scrape-token",
    }

    def python(*args: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-c", WORKER, *args]
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    workers = [python("count", "3"), python("count", "5")]  # at the same time
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    scraper = python("scrape")
    out, err = scraper.communicate(timeout=120)
    assert scraper.returncode == 0, err
    scraped = json.loads(out.strip().splitlines()[-1])
    samples = parse(scraped["body"])

    requests = "feedsvc_feed_requests_total"
    assert value(samples, requests, feed="thoi-su", format="rss", status="200") == 8
    assert value(samples, requests, feed="unknown", format="unknown", status="404") == 2
    assert value(samples, "feedsvc_regeneration_runs_total") == 2
    feeds = {
        outcome: value(samples, "feedsvc_regeneration_feeds_total", outcome=outcome)
        for outcome in ("rendered", "unchanged", "failed")
    }
    # Both runs handle the four feeds; when they race on one, the loser's is "unchanged".
    assert sum(n or 0 for n in feeds.values()) == 8
    assert (feeds["rendered"] or 0) >= 4
    assert feeds["failed"] == 0
    assert value(samples, "feedsvc_regeneration_duration_seconds_count") == 2
    assert value(samples, "feedsvc_articles_stored") == 3
    # One series per live worker: the two that exited are gone, the scraper is there.
    assert series(samples, "feedsvc_worker_snapshots") == [{"pid": str(scraped["pid"])}]
