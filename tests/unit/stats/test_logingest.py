"""``feedsvc stats ingest-log``: nginx's feedsvc_json lines and varnishncsa's, from a file and
from standard input, into the same figures as the hot path."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from feedsvc import store
from feedsvc.stats.logingest import IngestResult, follow, ingest, parse_line
from feedsvc.stats.service import AudienceStats

from tests.helpers.app import services

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )"
INOREADER = (
    "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; "
    "12 subscribers; )"
)


def nginx_line(uri: str, status: int, ua: str, addr: str = "203.0.113.7", inm: str = "",
               when: str = "2026-11-20T10:00:00+07:00", method: str = "GET") -> str:  # fmt: skip
    """A line as nginx's feedsvc_json format writes it (escape=json: empty when unset)."""
    return json.dumps(
        {
            "time": when,
            "addr": addr,
            "method": method,
            "uri": uri,
            "status": status,
            "bytes": 1234,
            "ua": ua,
            "inm": inm,
            "ims": "",
            "cache": "HIT",
        }
    )


def varnish_line(uri: str, status: str, ua: str, inm: str = "-") -> str:
    """A line as ``varnishncsa -j -F`` writes it with the documented format."""
    return (
        '{"time":"2026-11-20T03:00:00+0000","addr":"198.51.100.4","method":"GET",'
        f'"uri":"{uri}","status":{status},"bytes":"-","ua":"{ua}","inm":"{inm}",'
        '"ims":"-","cache":"hit"}'
    )


def figures(app: Flask) -> tuple[list[Any], list[Any]]:
    with services(app).db.reading() as session:
        since = date(2026, 1, 1)
        return store.feed_days(session, since), store.client_days(session, since)


def test_parse_nginx_and_varnish_lines() -> None:
    when, path, status, addr, ua, validated, method = parse_line(
        nginx_line("/feeds/thoi-su.rss", 304, FEEDLY, inm='"abc"')
    )
    assert (path, status, addr, ua, validated, method) == (
        "/feeds/thoi-su.rss", 304, "203.0.113.7", FEEDLY, True, "GET")  # fmt: skip
    assert when.utcoffset() == timedelta(hours=7)
    _when, path, status, _addr, ua, validated, _m = parse_line(
        varnish_line("/feeds/all.atom", "200", "Newsboat/2.30.1")
    )
    assert (path, status, ua, validated) == ("/feeds/all.atom", 200, "Newsboat/2.30.1", False)
    for bad in ("not json", "[1]", '{"time": "yesterday"}', '{"time": "2026-11-20T10:00:00"}'):
        with pytest.raises(ValueError):
            parse_line(bad)


def test_cli_reads_a_file_into_the_figures(newsroom: Flask, tmp_path: Path) -> None:
    log = tmp_path / "access.json.log"
    lines = [
        nginx_line("/feeds/thoi-su.rss", 200, FEEDLY),
        nginx_line("/feeds/thoi-su.rss", 304, INOREADER, inm='"e1"'),
        nginx_line("/feeds/thoi-su.rss", 200, "Newsboat/2.30.1", addr="192.0.2.8"),
        nginx_line("/feeds/thoi-su.rss", 200, "Newsboat/2.30.1", addr="192.0.2.8"),
        # The next day in Hà Nội (rollover by the line's own time).
        nginx_line(
            "/feeds/thoi-su.rss", 200, FEEDLY.replace("16", "17"), when="2026-11-21T00:00:01+07:00"
        ),  # fmt: skip
        nginx_line("/feeds/thoi-su.html", 200, "Firefox/120.0"),  # a page: skipped
        nginx_line("/nope", 404, "curl/8"),  # skipped
        nginx_line("/feeds/thoi-su.rss", 200, "x", method="POST"),  # skipped
        "{broken",
    ]
    log.write_text("\n".join(lines) + "\n")
    result = newsroom.test_cli_runner().invoke(args=["stats", "ingest-log", str(log)])
    assert result.exit_code == 0, result.output
    assert "5 feed responses counted, 3 other lines skipped, 1 malformed (first at lines 9)" in (
        result.output
    )
    feeds, clients = figures(newsroom)
    assert [(f.day.isoformat(), f.requests, f.not_modified, f.direct_clients) for f in feeds] == [
        ("2026-11-20", 4, 1, 1),
        ("2026-11-21", 1, 0, 0),
    ]
    subscribers = {(c.day.isoformat(), c.name): c.subscribers for c in clients}
    assert subscribers == {
        ("2026-11-20", "Feedly"): 16,
        ("2026-11-20", "Inoreader"): 12,
        ("2026-11-20", "newsboat"): None,
        ("2026-11-21", "Feedly"): 17,
    }


def test_cli_reads_standard_input(newsroom: Flask) -> None:
    text = varnish_line("/feeds/all.rss", "200", "Newsboat/2.30.1") + "\n"
    result = newsroom.test_cli_runner().invoke(args=["stats", "ingest-log", "-"], input=text)
    assert result.exit_code == 0, result.output
    (feed,), _clients = figures(newsroom)
    assert (feed.feed, feed.requests, feed.direct_clients) == ("all", 1, 1)


def test_follow_reads_appended_lines_and_a_rotated_file(newsroom: Flask, tmp_path: Path) -> None:
    log = tmp_path / "access.json.log"
    log.write_text(nginx_line("/feeds/all.rss", 200, "old line, before following") + "\n")
    s = services(newsroom)
    stats = AudienceStats(s.db, s.clock, s.settings.timezone, s.settings.trusted_proxies, 400)
    stopping = threading.Event()
    result = IngestResult()
    reader = threading.Thread(
        target=ingest, args=(follow(str(log), stopping.is_set, poll=0.05), stats, result)
    )
    reader.start()
    try:
        time.sleep(0.3)
        with log.open("a") as file:
            file.write(nginx_line("/feeds/all.rss", 200, "Newsboat/2.30.1") + "\n")
        time.sleep(0.3)
        log.rename(tmp_path / "access.json.log.1")
        log.write_text(nginx_line("/feeds/all.rss", 200, "NetNewsWire (RSS Reader)") + "\n")
        deadline = time.monotonic() + 10
        while result.counted < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stopping.set()
        reader.join(timeout=10)
    assert result.counted == 2
    (feed,), clients = figures(newsroom)
    assert feed.requests == 2 and {c.name for c in clients} == {"newsboat", "NetNewsWire"}
