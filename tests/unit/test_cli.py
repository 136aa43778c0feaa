"""The command line, driven through Flask's CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from feedsvc import store
from feedsvc.store import schema

from tests.helpers.app import NEWSROOM, article, load, services


def _lines(*records: object) -> str:
    return "\n".join(
        r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records
    )


def _stored(app: Flask) -> dict[str, tuple[str, str, list[str]]]:
    s = services(app)
    with s.db.reading() as session:
        result = {}
        for key in ("a1", "a2", "a3", "a4", "a5", "nfd"):
            found = store.get_article(session, key)
            if found is not None:
                result[key] = (
                    found.title,
                    found.published_at.isoformat(),
                    [link.category_slug for link in found.links],
                )
        return result


def test_import_articles_reports_each_bad_line(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    load(app, NEWSROOM, [])
    huge = article("huge", "thoi-su", content_html="<p>" + "x" * (9 * 1024 * 1024) + "</p>")
    no_title = article("bad1", "thoi-su")
    del no_title["title"]
    path = tmp_path / "articles.jsonl"
    path.write_text(
        _lines(
            article("a1", "thoi-su"),  # 1
            no_title,  # 2
            article("bad2", "thoi-su", url="bai-viet.html"),  # 3
            article("a2", "kinh-te", published_at="2026-11-19T09:00:00Z"),  # 4
            article("bad3", "khong-ton-tai"),  # 5
            article("bad4", "thoi-su", published_at="19/11/2026 08:00"),  # 6
            '{"id": "bad5", "title": ',  # 7 broken JSON
            "",  # 8 blank line
            huge,  # 9
            article(
                "a3", "thoi-su", "quoc-phong-an-ninh", published_at="2026-11-19T09:30:00"
            ),  # 10
            article("nfd", "thoi-su", title="Quo\u0302\u0301c pho\u0300ng\x07"),  # 11
        )
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import-articles", str(path)])
    assert result.exit_code == 1, (result.output, result.exception)
    errors = {
        int(line.split(":", 1)[0]): line
        for line in result.stderr.splitlines()
        if line[:1].isdigit()
    }
    assert sorted(errors) == [2, 3, 5, 6, 7, 8, 9]
    assert "title" in errors[2]
    assert "url" in errors[3] and "absolute" in errors[3]
    assert "categories[0]" in errors[5] and "khong-ton-tai" in errors[5]
    assert "published_at" in errors[6]
    assert "JSON" in errors[7]
    assert "blank" in errors[8]
    assert "too long" in errors[9]
    stored = _stored(app)
    assert sorted(stored) == ["a1", "a2", "a3", "nfd"]
    assert stored["a3"][1] == "2026-11-19T02:30:00+00:00"  # offset-less: read in Asia/Ho_Chi_Minh
    assert stored["a3"][2] == ["thoi-su", "quoc-phong-an-ninh"]
    assert stored["nfd"][0] == "Quốc phòng"  # NFC, the BEL removed
    # The same file again leaves the same store.
    again = runner.invoke(args=["import-articles", str(path)])
    assert again.exit_code == 1
    assert _stored(app) == stored
    assert "4 unchanged" in again.stderr


def test_import_from_stdin_all_good_exits_zero(app: Flask, runner: FlaskCliRunner) -> None:
    load(app, NEWSROOM, [])
    data = _lines(article("a4", "thoi-su"), article("a5", "kinh-te")) + "\n"
    result = runner.invoke(args=["import-articles", "-"], input=data)
    assert result.exit_code == 0, result.output
    assert sorted(_stored(app)) == ["a4", "a5"]


def test_import_categories(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "categories.jsonl"
    path.write_text(
        _lines(
            {"slug": "thoi-su", "name": "Thời sự"},
            {"slug": "all", "name": "Tất cả"},
            {"slug": "Bad Slug", "name": "x"},
            {"slug": "kinh-te"},
        )
        + "\n"
    )
    result = runner.invoke(args=["import-categories", str(path)])
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.stderr.splitlines()[:3]] == ["2", "3", "4"]
    with services(app).db.reading() as session:
        assert store.category_slugs(session) == {"thoi-su"}


def test_import_missing_file(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["import-articles", "/nonexistent/file.jsonl"])
    assert result.exit_code != 0
    assert "cannot read /nonexistent/file.jsonl" in result.output


def test_demo_data_twice_gives_the_same_store(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["demo-data"])
    assert first.exit_code == 0, first.output
    s = services(app)

    def snapshot() -> tuple[list[str], int, list[tuple[str, str]]]:
        with s.db.reading() as session:
            articles = store.visible_article_rows(session, "all", s.clock.now(), 1000)
            return (
                sorted(store.category_slugs(session)),
                store.count_articles(session),
                [(a.id, a.record_hash) for a in articles],
            )

    before = snapshot()
    second = runner.invoke(args=["demo-data"])
    assert second.exit_code == 0, second.output
    assert snapshot() == before
    slugs, count, _ = before
    assert {
        "thoi-su",
        "quoc-phong-an-ninh",
        "bien-gioi-lanh-tho",
        "kinh-te",
        "xa-hoi",
        "the-gioi",
    } <= set(slugs)
    assert count >= 300
    with s.db.reading() as session:
        seed = store.get_article(session, "bp-20230203-cnqp")
        assert seed is not None
        assert seed.image_caption and seed.image_caption.endswith("Ảnh: Hồng Pha")
        assert seed.image_url and seed.image_url.startswith("http://feeds.test/static/demo/")
    skipped = runner.invoke(args=["demo-data", "--if-empty"])
    assert "already stored" in skipped.output


def test_regenerate_command(app: Flask, runner: FlaskCliRunner) -> None:
    load(app, NEWSROOM, [article("a1", "thoi-su")])
    result = runner.invoke(args=["regenerate", "--category", "thoi-su"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rendered 1,")
    assert runner.invoke(args=["regenerate"]).output.startswith("rendered 3,")  # all, 2 others
    assert runner.invoke(args=["regenerate"]).output.startswith("rendered 0,")
    unknown = runner.invoke(args=["regenerate", "--category", "khong-co"])
    assert unknown.exit_code == 2 and "no category 'khong-co'" in unknown.output


def test_init_db_is_safe_to_run_again(runner: FlaskCliRunner) -> None:
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert f"revision {schema.head_revision()}" in result.output


def test_relay_check_prints_the_destinations_without_secrets(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("123:very-secret")
    settings = tmp_path / "feedsvc.toml"
    settings.write_text(
        '[relay]\nlisten = "127.0.0.1:8790"\n\n[relay.destinations.tg]\ntype = "telegram"\n'
        f'chat_id = "-100200"\ntoken_file = "{token}"\ncategories = ["thoi-su"]\n'
    )
    monkeypatch.setenv("FEEDSVC_CONFIG", str(settings))
    result = runner.invoke(args=["relay", "--check"])
    assert result.exit_code == 0, result.output
    assert "tg: telegram -> -100200; categories thoi-su; keywords none; pace 3 s" in result.output
    assert "token from token_file" in result.output and "very-secret" not in result.output
    settings.write_text('[relay.destinations.tg]\ntype = "telegram"\ntoken = "123:x"\n')
    refused = runner.invoke(args=["relay", "--check"])
    assert refused.exit_code == 1
    assert "never written in the settings file" in refused.output and "123:x" not in refused.output
