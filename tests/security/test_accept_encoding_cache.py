"""Issue 13, finding 7 (Accept-Encoding): the hot path's Accept-Encoding cache was keyed on the
raw header, so each distinct value a client sent was kept: 512 entries of 400 KiB each, 200 MiB
per worker when granian faces clients directly. What a worker keeps no longer grows with the
size of the headers clients send."""

from __future__ import annotations

import gc
import tracemalloc

from flask import Flask
from flask.testing import FlaskClient

HEADERS = 200
HEADER_BYTES = 100 * 1024  # 200 distinct headers of 100 KiB: 20 MB if each were kept


def hostile(i: int) -> str:
    """A distinct Accept-Encoding of HEADER_BYTES characters that names gzip."""
    return (f"x-{i}, " + "br;q=0.5, " * (HEADER_BYTES // 10))[: HEADER_BYTES - 6] + ", gzip"


def test_long_accept_encoding_values_are_not_kept(newsroom: Flask, client: FlaskClient) -> None:
    client.get("/feeds/thoi-su.rss")  # the first request starts the background threads
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        answers = []
        for i in range(HEADERS):
            # Made here and dropped after the request: whatever stays was kept by the server.
            headers = {"Accept-Encoding": hostile(i)}
            response = client.get("/feeds/thoi-su.rss", headers=headers)
            answers.append((response.status_code, response.headers.get("Content-Encoding")))
        del response, headers
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert kept < 1024 * 1024, f"{kept / 1e6:.1f} MB kept after {HEADERS} long headers"
    # Too long to be taken seriously: identity, which every client can read.
    assert set(answers) == {(200, None)}


def test_ordinary_values_still_negotiate(newsroom: Flask, client: FlaskClient) -> None:
    for value, gzipped in [
        ("gzip, deflate, br, zstd", True),
        ("br;q=1, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("identity", False),
    ]:
        response = client.get("/feeds/thoi-su.rss", headers={"Accept-Encoding": value})
        assert (response.headers.get("Content-Encoding") == "gzip") is gzipped, value
