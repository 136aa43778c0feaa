"""The [relay] table: checked at start-up, secrets only from files or variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from feedsvc.config import ConfigError
from feedsvc.relay.config import load_relay_config, relay_table

from tests.helpers.relay import toml_config

BASE = "http://127.0.0.1:8000"


def telegram(**extra: Any) -> dict[str, Any]:
    return {"type": "telegram", "chat_id": "1001", "token_env": "TG_TOKEN", **extra}


def load(relay: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return load_relay_config(relay, {"TG_TOKEN": "123:abc", **(environ or {})}, BASE)


def test_defaults_and_feed_keys() -> None:
    config = load(
        {
            "listen": "127.0.0.1:8790",
            "destinations": {
                "a": telegram(categories=["thoi-su"]),
                "b": telegram(chat_id="-100200"),
            },
        }
    )
    assert config.service_url == BASE
    assert config.callback_url == "http://127.0.0.1:8790/websub"
    assert config.feed_keys == ("all", "thoi-su")
    assert config.max_age_seconds == 3600 and config.max_attempts == 20
    a, b = config.destinations
    assert a.feed_keys == ("thoi-su",) and b.feed_keys == ("all",)
    assert a.pace_seconds == 1.0 and b.pace_seconds == 3.0  # a group: 20 messages a minute
    assert a.options["api_base"] == "https://api.telegram.org"
    assert a.secrets["token"].read() == "123:abc"
    assert "123:abc" not in repr(a)


def test_keyword_filter_is_case_insensitive() -> None:
    config = load({"destinations": {"a": telegram(keywords=["Biên giới"])}})
    (dest,) = config.destinations
    assert dest.wants("Tuần tra BIÊN GIỚI") and not dest.wants("Kinh tế")


def test_secrets_from_files_are_read_again(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = load({"destinations": {"a": telegram(token_env=None) | {"token_file": str(token)}}})
    secret = config.destinations[0].secrets["token"]
    assert secret.read() == "first"
    token.write_text("second")
    assert secret.read() == "second"


BAD: list[tuple[dict[str, Any], str]] = [
    ({}, "none configured"),
    ({"destinations": {"a": telegram(token="123:abc")}}, "never written in the settings file"),
    ({"destinations": {"a": telegram(token_env="FEEDSVC_TG")}}, "FEEDSVC_ variables"),
    ({"destinations": {"a": telegram(token_env="NOT_SET")}}, "empty or unset"),
    ({"destinations": {"a": telegram(token_file="/nonexistent/x")}}, "both"),
    ({"destinations": {"a": {"type": "telegram", "chat_id": "1"}}}, "token_file or token_env"),
    ({"destinations": {"a": telegram(type="sms")}}, "type: one of"),
    ({"destinations": {"A b": telegram()}}, "a name of"),
    ({"destinations": {"a": telegram(categories=["all"])}}, "not a category slug"),
    ({"destinations": {"a": telegram(keywords="x")}}, "a list of non-blank strings"),
    ({"destinations": {"a": telegram(pace_seconds=-1)}}, "pace_seconds"),
    ({"destinations": {"a": telegram(colour="red")}}, "unknown key 'colour'"),
    ({"destinations": {"a": telegram(api_base="ftp://x")}}, "api_base"),
    ({"listen": "8790", "destinations": {"a": telegram()}}, "HOST:PORT"),
    ({"poll_seconds": 0, "destinations": {"a": telegram()}}, "poll_seconds"),
    ({"extra": 1, "destinations": {"a": telegram()}}, "unknown key 'extra'"),
    (
        {"destinations": {"z": {"type": "zalo", "app_id": "1", "user_id": "2"}}},
        "secret_key_file or secret_key_env is required",
    ),
    (
        {
            "destinations": {
                "z": {
                    "type": "zalo",
                    "app_id": "1",
                    "user_id": "2",
                    "group_id": "3",
                    "secret_key_env": "TG_TOKEN",
                    "refresh_token_env": "TG_TOKEN",
                }
            }
        },
        "exactly one of user_id or group_id",
    ),
    ({"destinations": {"w": {"type": "webhook", "secret_env": "TG_TOKEN"}}}, "url: required"),
]


@pytest.mark.parametrize(("relay", "message"), BAD)
def test_a_bad_table_stops_start_up_naming_the_key(relay: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(relay)


def test_relay_table_reads_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "feedsvc.toml"
    path.write_text(toml_config({"poll_seconds": 5}, {"a": telegram()}), "utf-8")
    table = relay_table({"FEEDSVC_CONFIG": str(path)})
    assert table["poll_seconds"] == 5 and table["destinations"]["a"]["chat_id"] == "1001"
    assert relay_table({}) == {}
    path.write_text("[relay\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        relay_table({"FEEDSVC_CONFIG": str(path)})
    with pytest.raises(ConfigError, match="cannot read"):
        relay_table({"FEEDSVC_CONFIG": str(tmp_path / "missing.toml")})
