"""Finding 4: numbers of thousands of digits, where Python's int() refuses more than 4300.

``?limit=`` followed by 5,000 digits raised ValueError out of the WSGI app (a 500 with a
traceback, no ``no-store``); a JSON number of 5,000 digits gave a 500 on the ingest API and
stopped ``import-articles`` at that line. Now the first is a 400 like any bad ``limit``, and a
number longer than 100 characters (or beyond a double's range) is not acceptable JSON: a 400 on
the API, a rejected line in the importer, the lines around it stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from feedsvc import store

from tests.helpers.app import NEWSROOM, TOKENS, article, load, services

DIGITS = "1" * 5000
AUTH = {"Authorization": f"Bearer {TOKENS[0]}", "Content-Type": "application/json"}


RANGE = "'limit' must be a whole number from 1 to 50"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (f"limit={DIGITS}", RANGE),
        (f"limit=%31{DIGITS}", RANGE),  # percent-encoded, as parse_qsl decoded it
        (f"a=1&limit={DIGITS}&b=2", RANGE),
        ("limit=" + "9" * 100_000, "longer than 8192"),  # past the shipped nginx's request line
    ],
    ids=["5000-digits", "percent-encoded", "among-others", "100k-digits"],
)
def test_limit_of_thousands_of_digits_is_a_400(newsroom: Flask, query: str, reason: str) -> None:
    response = newsroom.test_client().get(f"/feeds/thoi-su.rss?{query}")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reason in response.text


def _body(number: str, article_id: str = "bp-1") -> bytes:
    """An article whose image.length is ``number``, written as it stands."""
    image = {"url": "https://bienphong.example/p.jpg", "length": 0}
    text = json.dumps(article(article_id, "thoi-su", image=image), ensure_ascii=False)
    return text.replace('"length": 0}', f'"length": {number}}}').encode()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (DIGITS, "a number of 5000 characters"),
        ("-" + DIGITS, "a number of 5001 characters"),
        (DIGITS + ".5", "a number of 5002 characters"),
        ("1e400", "beyond the range of a 64-bit float"),
        ("-1" + "0" * 60 + ".5e300", "beyond the range of a 64-bit float"),
    ],
    ids=["5000-digits", "negative", "fraction", "1e400", "long-float"],
)
def test_api_refuses_a_huge_number_with_a_400(newsroom: Flask, number: str, reason: str) -> None:
    client = newsroom.test_client()
    put = client.put("/api/v1/articles/bp-1", data=_body(number), headers=AUTH)
    assert put.status_code == 400, put.text
    assert put.headers["Cache-Control"] == "no-store"
    assert reason in put.get_json()["error"]
    batch = b"[" + _body(number) + b"]"
    post = client.post("/api/v1/articles", data=batch, headers=AUTH)
    assert post.status_code == 400 and reason in post.get_json()["error"]
    with services(newsroom).db.reading() as session:
        assert store.get_article(session, "bp-1") is None


def test_import_articles_rejects_the_line_and_stores_the_others(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    load(app, NEWSROOM, [])
    lines = [
        json.dumps(article("a1", "thoi-su")),
        _body(DIGITS, "bad").decode(),
        json.dumps(article("a2", "kinh-te")),
        _body("1e999", "bad2").decode(),
        json.dumps(article("a3", "thoi-su")),
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-articles", str(path)])
    assert result.exit_code == 1, (result.output, result.exception)
    errors = [line for line in result.stderr.splitlines() if line[:1].isdigit()]
    assert len(errors) == 2
    assert errors[0].startswith("2: ") and "a number of 5000 characters" in errors[0]
    assert errors[1].startswith("4: ") and "beyond the range of a 64-bit float" in errors[1]
    assert "articles: 3 created; 2 rejected" in result.stderr
    with services(app).db.reading() as session:
        for stored in ("a1", "a2", "a3"):
            assert store.get_article(session, stored) is not None
        assert store.get_article(session, "bad") is None
