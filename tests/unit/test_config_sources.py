"""Where settings come from: the settings file (FEEDSVC_CONFIG), FEEDSVC_<NAME>_FILE, the
environment over both; unknown FEEDSVC_ variables and file keys stop start-up naming the nearest
valid name; ``feedsvc config`` prints them with secrets redacted; FEEDSVC_LOG_LEVEL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedsvc import create_app
from feedsvc.config import NOT_SETTINGS, TABLE, ConfigError, load_settings, resolve
from feedsvc.config.file import KNOWN_TABLES, config_tables
from feedsvc.console import main

from tests.helpers.paths import REPO

SETTINGS_TOML = """\
base_url = "https://feeds.bienphong.example"
feed_items = 20
scheduler = false
trusted_proxies = ["10.0.0.0/8", "::1"]
websub_backoff_seconds = 2.5

[relay]
telegram_chat = "@bienphong"
zalo = { oa_id = 42 }
"""


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def settings_file(tmp_path: Path) -> str:
    return write(tmp_path / "feedsvc.toml", SETTINGS_TOML)


def test_the_file_sets_settings_in_the_parsers_own_terms(settings_file: str) -> None:
    s = load_settings({"FEEDSVC_CONFIG": settings_file})
    assert s.base_url == "https://feeds.bienphong.example"
    assert s.feed_items == 20 and s.scheduler is False
    assert [str(n) for n in s.trusted_proxies.networks] == ["10.0.0.0/8", "::1/128"]
    assert s.websub_backoff_seconds == 2.5
    sources = {r.row.variable: r.source for r in resolve({"FEEDSVC_CONFIG": settings_file})}
    assert sources["FEEDSVC_BASE_URL"] == f"file {settings_file}"
    assert sources["FEEDSVC_SITE_URL"] == "default"


def test_the_environment_overrides_the_file(settings_file: str) -> None:
    s = load_settings({"FEEDSVC_CONFIG": settings_file, "FEEDSVC_FEED_ITEMS": "7"})
    assert s.feed_items == 7 and s.base_url == "https://feeds.bienphong.example"


def test_a_bad_value_in_the_file_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path / "f.toml", "feed_items = 5000\n")
    with pytest.raises(ConfigError, match="FEEDSVC_FEED_ITEMS"):
        load_settings({"FEEDSVC_CONFIG": path})


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("base_ulr = 'https://x.example'\n", "'base_url'"),
        ("FEEDSVC_BASE_URL = 'https://x.example'\n", "'base_url'"),
        ("[rely]\nchat = 1\n", "'relay'"),
        ("[metrics]\nbind = '127.0.0.1:1'\n", "relay"),  # no near table: the list of them
        ("feed_items = [[1]]\n", "array of arrays"),
        ("site_title = 2026-11-20T03:00:00Z\n", "in quotes"),
        ("base_url = \n", "not valid TOML"),
    ],
)
def test_a_wrong_file_stops_start_up(tmp_path: Path, text: str, named: str) -> None:
    path = write(tmp_path / "f.toml", text)
    with pytest.raises(ConfigError, match="FEEDSVC_CONFIG=") as caught:
        load_settings({"FEEDSVC_CONFIG": path})
    assert named in str(caught.value)


def test_a_missing_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the settings file"):
        load_settings({"FEEDSVC_CONFIG": str(tmp_path / "none.toml")})


def test_a_component_reads_its_table(settings_file: str) -> None:
    assert "relay" in KNOWN_TABLES
    tables = config_tables({"FEEDSVC_CONFIG": settings_file})
    assert set(tables) == {"relay"}
    assert tables["relay"]["telegram_chat"] == "@bienphong"
    assert tables["relay"]["zalo"] == {"oa_id": 42}
    assert dict(config_tables({})) == {}


def test_a_secret_from_a_file(tmp_path: Path) -> None:
    tokens = write(tmp_path / "tokens", "tok-one,tok-two\n")
    metrics = write(tmp_path / "metrics", "metrics-tok\r\n")
    s = load_settings({"FEEDSVC_API_TOKENS_FILE": tokens, "FEEDSVC_METRICS_TOKEN_FILE": metrics})
    assert s.api_tokens == ("tok-one", "tok-two") and s.metrics_token == "metrics-tok"
    found = {r.row.variable: r.source for r in resolve({"FEEDSVC_API_TOKENS_FILE": tokens})}
    assert found["FEEDSVC_API_TOKENS"] == f"FEEDSVC_API_TOKENS_FILE {tokens}"


def test_any_setting_may_come_from_a_file(tmp_path: Path) -> None:
    """A database URL carries a password: its _FILE form works as a secret's does."""
    url = write(tmp_path / "db", f"sqlite:///{tmp_path}/x.db\n")
    assert load_settings({"FEEDSVC_DATABASE_URL_FILE": url}).database_url.endswith("/x.db")


def test_a_variable_and_its_file_form_together_stop_start_up(tmp_path: Path) -> None:
    tokens = write(tmp_path / "tokens", "tok\n")
    env = {"FEEDSVC_API_TOKENS_FILE": tokens, "FEEDSVC_API_TOKENS": "other"}
    with pytest.raises(ConfigError, match="FEEDSVC_API_TOKENS and FEEDSVC_API_TOKENS_FILE"):
        load_settings(env)


def test_an_unreadable_value_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FEEDSVC_API_TOKENS_FILE: cannot read"):
        load_settings({"FEEDSVC_API_TOKENS_FILE": str(tmp_path / "none")})


@pytest.mark.parametrize(
    ("variable", "nearest"),
    [
        ("FEEDSVC_BASE_ULR", "FEEDSVC_BASE_URL"),
        ("FEEDSVC_API_TOKEN", "FEEDSVC_API_TOKENS"),
        ("FEEDSVC_API_TOKEN_FILE", "FEEDSVC_API_TOKENS_FILE"),
        ("FEEDSVC_CONFIG_FILE", "FEEDSVC_CONFIG"),
        ("FEEDSVC_LOGLEVEL", "FEEDSVC_LOG_LEVEL"),
    ],
)
def test_an_unknown_variable_stops_start_up_naming_the_nearest(variable: str, nearest: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable} is not a feedsvc setting") as caught:
        load_settings({variable: "x"})
    assert f"did you mean {nearest}?" in str(caught.value)


def test_an_unknown_variable_stops_the_app_and_serve(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FEEDSVC_SHEDULER"):
        create_app({"FEEDSVC_SHEDULER": "off"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["FEEDSVC_WORKER"] = "2"
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc", "serve"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "FEEDSVC_WORKER is not a feedsvc setting; did you mean FEEDSVC_WORKERS?" in done.stderr


@pytest.mark.parametrize(
    "variable",
    [
        "FEEDSVC_CONFIG",
        "FEEDSVC_TEST_DATABASE_URL",
        "FEEDSVC_TEST_RENDER_DELAY",
        "FEEDSVC_BENCH_WORKSPACE",
        "FEEDSVC_TEST_FIXTURE_FILE",
        "FEEDSVC_SITE_TITLE_FILE",
    ],
)
def test_the_variables_that_are_not_settings_pass(variable: str, tmp_path: Path) -> None:
    value = write(tmp_path / "v", "Báo\n") if variable == "FEEDSVC_SITE_TITLE_FILE" else ""
    load_settings({variable: value})


def test_the_exempt_list_is_one_table_of_patterns_with_their_meaning() -> None:
    patterns = [pattern for pattern, meaning in NOT_SETTINGS if meaning]
    assert patterns == [
        "FEEDSVC_CONFIG",
        "FEEDSVC_*_FILE",
        "FEEDSVC_TEST_*",
        "FEEDSVC_BENCH_*",
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for pattern in patterns:
        assert f"`{pattern}`" in readme, f"README.md does not document {pattern}"


# --- feedsvc config ----------------------------------------------------------------------------


def run_config(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, ["config", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_feedsvc_config_shows_sources_and_never_a_secret(
    settings_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("FEEDSVC_")]:
        monkeypatch.delenv(name)
    tokens = write(tmp_path / "tokens", "very-secret-token\n")
    env = {
        "FEEDSVC_CONFIG": settings_file,
        "FEEDSVC_API_TOKENS_FILE": tokens,
        "FEEDSVC_METRICS_TOKEN": "metrics-secret",
        "FEEDSVC_FEED_ITEMS": "9",
        "FEEDSVC_DATABASE_URL": "postgresql://feedsvc:db-password@db.internal/feedsvc",
    }
    text = run_config(env)
    for secret in ("very-secret-token", "metrics-secret", "db-password"):
        assert secret not in text
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert len(lines) == len(TABLE)
    assert "[redacted]" in lines["FEEDSVC_API_TOKENS"]
    assert lines["FEEDSVC_API_TOKENS"].endswith(f"FEEDSVC_API_TOKENS_FILE {tokens}")
    assert lines["FEEDSVC_METRICS_TOKEN"].split()[1:] == ["[redacted]", "environment"]
    assert lines["FEEDSVC_BASE_URL"].split()[1:] == [
        "https://feeds.bienphong.example",
        "file",
        settings_file,
    ]
    assert lines["FEEDSVC_FEED_ITEMS"].split()[1:] == ["9", "environment"]
    assert lines["FEEDSVC_SITE_URL"].split()[1:] == ["https://bienphong.example", "default"]
    assert "feedsvc:[redacted]@db.internal" in lines["FEEDSVC_DATABASE_URL"]

    rows = json.loads(run_config(env, "--json"))
    by_name = {row["variable"]: row for row in rows}
    assert by_name["FEEDSVC_API_TOKENS"] == {
        "variable": "FEEDSVC_API_TOKENS",
        "value": "[redacted]",
        "source": f"FEEDSVC_API_TOKENS_FILE {tokens}",
        "secret": True,
    }
    assert by_name["FEEDSVC_SCHEDULER"]["value"] == "off"
    assert "very-secret-token" not in json.dumps(rows)


def test_feedsvc_config_refuses_a_wrong_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_BASE_ULR", "x")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    assert "did you mean FEEDSVC_BASE_URL?" in result.output


# --- FEEDSVC_LOG_LEVEL -------------------------------------------------------------------------

LOG_SCRIPT = """
import logging
from feedsvc import create_app
create_app()
log = logging.getLogger("feedsvc.probe")
log.debug("probe-debug")
log.info("probe-info")
log.warning("probe-warning")
log.error("probe-error")
"""


@pytest.mark.parametrize(
    ("level", "written"),
    [
        ("debug", {"debug", "info", "warning", "error"}),
        ("info", {"info", "warning", "error"}),
        ("warning", {"warning", "error"}),
        ("ERROR", {"error"}),
    ],
)
def test_the_log_level_decides_what_is_written(
    tmp_path: Path, level: str, written: set[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(
        FEEDSVC_DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        FEEDSVC_SCHEDULER="off",
        FEEDSVC_LOG_LEVEL=level,
        FEEDSVC_LOG_FORMAT="json",
    )
    done = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    probes = {
        line["message"].removeprefix("probe-")
        for line in lines
        if line["logger"] == "feedsvc.probe"
    }
    assert probes == written
