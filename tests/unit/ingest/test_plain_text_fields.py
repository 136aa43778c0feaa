"""Plain-text fields through the real app: the API and the CLI store the same converted text,
the API returns it, and a title that is markup only is refused the same way by both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.helpers.app import NEWSROOM, article, load

AUTH = {"Authorization": "Bearer test-token-1"}

# Sent -> stored, for every plain-text field of an article.
MARKED = {
    "title": ("AT&T <b>đậm</b> &amp; nhiệt độ < 5°C", "AT&T đậm & nhiệt độ < 5°C"),
    "summary": ("<p>Sapo <i>nghiêng</i>,</p>\n<p>a <= b, x<y</p>", "Sapo nghiêng, a <= b, x<y"),
    "author": ("<b>Hồng&nbsp;Pha</b>", "Hồng Pha"),
}
CAPTION = ("Ảnh: <em>Hồng Pha</em> &lsaquo;tin ảnh&rsaquo;", "Ảnh: Hồng Pha ‹tin ảnh›")
BLANK_TITLE = "<b> </b>&nbsp;<img src=x>"


def marked_article(article_id: str) -> dict[str, Any]:
    fields = {name: sent for name, (sent, _) in MARKED.items()}
    image = {"url": "https://bienphong.example/anh.jpg", "caption": CAPTION[0]}
    return article(article_id, "thoi-su", image=image, **fields)


def expected_text(record: dict[str, Any]) -> None:
    for name, (_, stored) in MARKED.items():
        assert record[name] == stored, name
    assert record["image"]["caption"] == CAPTION[1]


def test_the_api_stores_and_returns_the_text(app: Flask, client: FlaskClient) -> None:
    load(app, NEWSROOM, [])
    put = client.put("/api/v1/articles/bp-1", json=marked_article("bp-1"), headers=AUTH)
    assert put.status_code == 201
    expected_text(put.get_json())  # the article as accepted
    got = client.get("/api/v1/articles/bp-1", headers=AUTH)
    assert got.status_code == 200
    expected_text(got.get_json())
    # Sending back what the API returned changes nothing: converting text again is a no-op.
    again = client.put("/api/v1/articles/bp-1", json=got.get_json(), headers=AUTH)
    assert again.status_code == 200 and again.get_json() == got.get_json()


def test_a_category_name_and_description_are_text(client: FlaskClient) -> None:
    sent = {"name": "<b>Quốc phòng</b> &amp; An ninh", "description": "<p>Tin <i>mới</i></p>"}
    response = client.put("/api/v1/categories/quoc-phong", json=sent, headers=AUTH)
    assert response.status_code == 201
    assert response.get_json() == {
        "slug": "quoc-phong",
        "name": "Quốc phòng & An ninh",
        "description": "Tin mới",
    }
    blank = client.put("/api/v1/categories/trong", json={"name": "<i></i>"}, headers=AUTH)
    assert blank.status_code == 422
    assert blank.get_json()["details"][0]["field"] == "name"


def test_a_title_blank_once_converted_is_a_422_saying_so(app: Flask, client: FlaskClient) -> None:
    load(app, NEWSROOM, [])
    response = client.put(
        "/api/v1/articles/bp-2", json=article("bp-2", title=BLANK_TITLE), headers=AUTH
    )
    assert response.status_code == 422
    [detail] = response.get_json()["details"]
    assert detail["field"] == "title"
    assert "blank once its markup is removed" in detail["message"]
    assert client.get("/api/v1/articles/bp-2", headers=AUTH).status_code == 404


def test_the_cli_stores_the_same_text_and_rejects_the_same_line(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    load(app, NEWSROOM, [])
    path = tmp_path / "articles.jsonl"
    lines = [marked_article("cli-1"), article("cli-2", title=BLANK_TITLE)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-articles", str(path)])
    assert result.exit_code == 1
    rejected = [line for line in result.stderr.splitlines() if line.startswith("2:")]
    assert len(rejected) == 1 and "title: is blank once its markup is removed" in rejected[0]
    stored = client.get("/api/v1/articles/cli-1", headers=AUTH)
    expected_text(stored.get_json())
    assert client.get("/api/v1/articles/cli-2", headers=AUTH).status_code == 404
