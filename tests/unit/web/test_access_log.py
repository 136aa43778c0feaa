"""FEEDSVC_ACCESS_LOG=on: one line per request, feeds included, with the client (through the
trusted proxies), method, path (query redacted), status, the bytes actually sent, the duration
and the User-Agent (escaped, cut); text and JSON formats. The lines are parsed, as whoever counts
the audience from them will."""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import pytest
from flask import Flask

from feedsvc.web.ops import ACCESS_FIELDS, USER_AGENT_MAX

from tests.helpers.app import log_lines

PROXY = "127.0.0.1"  # trusted by default (FEEDSVC_TRUSTED_PROXIES)
READER = "203.0.113.9"
STRANGER = "198.51.100.7"
TEXT_LINE = re.compile(
    r"^(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}|-) (?P<bytes>\d+) bytes "
    r'(?P<duration>\d+\.\d) ms from (?P<client>\S+) "(?P<agent>(?:[^"\\]|\\.)*)"$'
)


def request(app: Flask, path: str, **kwargs: Any) -> tuple[int, bytes]:
    with app.test_client().open(path, **kwargs) as response:
        return response.status_code, response.get_data()


def drive(app: Flask) -> list[tuple[int, int]]:
    """The same requests for each format: (status, body bytes) of each."""
    sent = []
    sent.append(
        request(
            app,
            "/feeds/thoi-su.rss",
            environ_base={"REMOTE_ADDR": PROXY},
            headers={"X-Forwarded-For": READER, "User-Agent": "Feedly/1.0"},
        )
    )
    sent.append(
        request(
            app,
            "/feeds/thoi-su.rss?limit=1",
            headers={"Accept-Encoding": "gzip"},
            environ_base={"REMOTE_ADDR": STRANGER, "HTTP_X_FORWARDED_FOR": READER},
        )
    )
    sent.append(request(app, "/feeds/thoi-su.rss", method="HEAD", headers={"User-Agent": ""}))
    sent.append(request(app, "/api/v1/articles/a1?access_token=SECRET-1"))
    sent.append(request(app, "/", headers={"User-Agent": 'Bot "quoted"\t\x7f' + "x" * 400}))
    return [(status, len(body)) for status, body in sent]


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_ACCESS_LOG": "on"}])
def test_text_lines(newsroom: Flask) -> None:
    with log_lines() as buffer:
        sent = drive(newsroom)
    lines = [
        ln.split(" feedsvc.access: ", 1)[1]
        for ln in buffer.getvalue().splitlines()
        if " feedsvc.access: " in ln
    ]
    parsed = [TEXT_LINE.match(line) for line in lines]
    assert all(parsed), lines
    fields = [m.groupdict() for m in parsed if m]
    assert [(int(f["status"]), int(f["bytes"])) for f in fields] == sent
    assert [f["client"] for f in fields] == [
        READER,
        STRANGER,
        "127.0.0.1",
        "127.0.0.1",
        "127.0.0.1",
    ]
    assert [f["method"] for f in fields] == ["GET", "GET", "HEAD", "GET", "GET"]
    assert fields[1]["path"] == "/feeds/thoi-su.rss?[redacted]"
    assert fields[3]["path"] == "/api/v1/articles/a1?[redacted]"
    assert "SECRET" not in buffer.getvalue()
    assert fields[0]["agent"] == "Feedly/1.0" and fields[2]["agent"] == "-"
    agent = fields[4]["agent"]
    assert agent.startswith('Bot \\"quoted\\"\\x09\\x7f') and agent.endswith("x…")
    assert sent[2] == (200, 0) and sent[0][1] > 1000  # HEAD sends no body


@pytest.mark.parametrize(
    "settings_overrides", [{"FEEDSVC_ACCESS_LOG": "on", "FEEDSVC_LOG_FORMAT": "json"}]
)
def test_json_lines_carry_each_field(newsroom: Flask) -> None:
    with log_lines() as buffer:
        sent = drive(newsroom)
    records = [json.loads(ln) for ln in buffer.getvalue().splitlines()]
    access = [r for r in records if r["logger"] == "feedsvc.access"]
    assert len(access) == len(sent)
    for record in access:
        # The documented fields, in their order, and no others beside the formatter's own.
        own = ("time", "level", "logger", "pid", "message")
        assert tuple(key for key in record if key not in own) == ACCESS_FIELDS
        assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert [(r["status"], r["bytes"]) for r in access] == sent
    assert [r["client"] for r in access] == [
        READER,
        STRANGER,
        "127.0.0.1",
        "127.0.0.1",
        "127.0.0.1",
    ]
    assert access[0]["user_agent"] == "Feedly/1.0" and access[2]["user_agent"] is None
    assert access[4]["user_agent"] == ('Bot "quoted"\t\x7f' + "x" * 400)[:USER_AGENT_MAX]
    assert access[1]["path"] == "/feeds/thoi-su.rss?[redacted]"
    assert "SECRET" not in buffer.getvalue()


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_ACCESS_LOG": "on"}])
def test_bytes_are_those_sent_gzip_and_304(newsroom: Flask) -> None:
    with log_lines() as buffer:
        with newsroom.test_client().get(
            "/feeds/all.atom", headers={"Accept-Encoding": "gzip"}
        ) as first:
            body = first.get_data()
            etag = first.headers["ETag"]
        with newsroom.test_client().get(
            "/feeds/all.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
        ) as second:
            assert second.status_code == 304
    assert gzip.decompress(body)  # the gzip bytes are what was sent, and counted
    lines = [
        TEXT_LINE.match(ln.split(" feedsvc.access: ", 1)[1])
        for ln in buffer.getvalue().splitlines()
        if " feedsvc.access: " in ln
    ]
    assert [(m["status"], int(m["bytes"])) for m in lines if m] == [("200", len(body)), ("304", 0)]


@pytest.mark.parametrize("settings_overrides", [{"FEEDSVC_ACCESS_LOG": "on"}])
def test_a_response_closed_early_logs_what_was_sent(newsroom: Flask) -> None:
    """A client gone mid-body: the server closes the response, the line says what it had."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/feeds/all.rss",
        "REMOTE_ADDR": READER,
        "SERVER_NAME": "feeds.test",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    with log_lines() as buffer:
        body = newsroom.wsgi_app(environ, lambda status, headers, exc_info=None: None)
        body.close()  # nothing read
        body.close()  # a second close logs nothing more
    (line,) = [ln for ln in buffer.getvalue().splitlines() if " feedsvc.access: " in ln]
    match = TEXT_LINE.match(line.split(" feedsvc.access: ", 1)[1])
    assert (
        match and match["bytes"] == "0" and match["status"] == "200" and match["client"] == READER
    )
