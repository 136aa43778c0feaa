"""``feedsvc serve``'s own helpers: the address as a URL shows it, the runtime directory from
the settings (file or environment), and what the children are handed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feedsvc import serve
from feedsvc.config import load_settings
from feedsvc.publish.board import BOARD_FILE


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8000", "127.0.0.1:8000"),
        ("[::1]:8000", "[::1]:8000"),
        ("::1:8000", "[::1]:8000"),
    ],
)
def test_the_address_parsed_and_shown(bind: str, url: str) -> None:
    host, port = load_settings({"FEEDSVC_BIND": bind}).bind
    assert f"{serve.url_host(host)}:{port}" == url


def test_the_runtime_directory_comes_from_the_settings_file(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    (runtime / BOARD_FILE).write_bytes(b"an earlier run's board")
    config = tmp_path / "feedsvc.toml"
    config.write_text(f'runtime_dir = "{runtime}"\n', encoding="utf-8")
    settings = load_settings({"FEEDSVC_CONFIG": str(config)})
    assert serve.fresh_runtime_dir(settings.runtime_dir) == str(runtime)
    assert not (runtime / BOARD_FILE).exists()  # begun anew


def test_a_value_handed_to_the_children_replaces_its_file_form(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEEDSVC_RUNTIME_DIR_FILE", str(tmp_path / "x"))
    serve.set_for_children("FEEDSVC_RUNTIME_DIR", str(tmp_path))
    assert "FEEDSVC_RUNTIME_DIR_FILE" not in os.environ
    assert os.environ["FEEDSVC_RUNTIME_DIR"] == str(tmp_path)
    monkeypatch.delenv("FEEDSVC_RUNTIME_DIR")
