"""Settings: defaults, typed parsing, a bad value stopping start-up with its name, and the
README's table following the settings table."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc import create_app, services_of
from feedsvc.config import TABLE, ConfigError, load_settings
from feedsvc.config import readme as config_readme


def test_defaults() -> None:
    s = load_settings({})
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith(
        "instance/feedsvc.db"
    )
    assert s.timezone.key == "Asia/Ho_Chi_Minh"
    assert s.tag_authority == "bienphong.example,2026"
    assert (s.feed_items, s.regenerate_seconds, s.cache_max_age, s.workers) == (50, 60, 60, 2)
    assert s.api_tokens == () and s.scheduler is True and s.bind == ("127.0.0.1", 8000)
    assert s.websub_hub is None and s.websub_allow_private is False and s.log_format == "text"


def test_values_are_parsed_by_their_own_type() -> None:
    s = load_settings(
        {
            "FEEDSVC_API_TOKENS": "12345,abc-DEF",
            "FEEDSVC_FEED_ITEMS": "20",
            "FEEDSVC_SCHEDULER": "off",
            "FEEDSVC_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "FEEDSVC_BASE_URL": "https://news.example/rss",
            "FEEDSVC_WEBSUB_HUB": "self",
            "FEEDSVC_BIND": "0.0.0.0:9000",
        }
    )
    assert s.api_tokens == ("12345", "abc-DEF")  # a token of digits stays a string
    assert s.feed_items == 20 and s.scheduler is False
    assert s.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert s.base_url == "https://news.example/rss"
    assert s.websub_hub == "self" and s.bind == ("0.0.0.0", 9000)


BAD = [
    ("FEEDSVC_DATABASE_URL", "mysql://x/y"),
    ("FEEDSVC_BASE_URL", "http://127.0.0.1:8000/"),
    ("FEEDSVC_BASE_URL", "ftp://example.com"),
    ("FEEDSVC_SITE_URL", "bienphong.com.vn"),
    ("FEEDSVC_SITE_TITLE", "   "),
    ("FEEDSVC_TAG_AUTHORITY", "bienphong.example"),
    ("FEEDSVC_TAG_AUTHORITY", "http://x,2026"),
    ("FEEDSVC_TIMEZONE", "GMT+7 Hà Nội"),
    ("FEEDSVC_API_TOKENS", "good,,other"),
    ("FEEDSVC_API_TOKENS", "good, "),
    ("FEEDSVC_FEED_ITEMS", "0"),
    ("FEEDSVC_FEED_ITEMS", "ten"),
    ("FEEDSVC_FEED_ITEMS", "5.5"),
    ("FEEDSVC_REGENERATE_SECONDS", "-1"),
    ("FEEDSVC_CACHE_MAX_AGE", "0"),
    ("FEEDSVC_SCHEDULER", "maybe"),
    ("FEEDSVC_WORKERS", "0"),
    ("FEEDSVC_RUNTIME_DIR", "run/feedsvc"),
    ("FEEDSVC_BIND", "8000"),
    ("FEEDSVC_BIND", "127.0.0.1:99999"),
    ("FEEDSVC_LOG_FORMAT", "xml"),
    ("FEEDSVC_LOG_LEVEL", "verbose"),
    ("FEEDSVC_WEBSUB_HUB", "hub.example"),
    ("FEEDSVC_WEBSUB_ALLOW_PRIVATE", "sometimes"),
    ("FEEDSVC_MAX_BODY_BYTES", "12"),
    ("FEEDSVC_ACCESS_LOG", "verbose"),
    ("FEEDSVC_TRUSTED_PROXIES", "127.0.0.1,,::1"),
    ("FEEDSVC_TRUSTED_PROXIES", "nginx"),
    ("FEEDSVC_TRUSTED_PROXIES", "10.0.0.0/33"),
    ("FEEDSVC_METRICS_BIND", "9464"),
    ("FEEDSVC_METRICS_TOKEN", "one,two"),
    ("FEEDSVC_METRICS_TOKEN", "tết"),
    ("FEEDSVC_WEBSUB_LEASE_SECONDS", "0"),
    ("FEEDSVC_WEBSUB_MAX_LEASE_SECONDS", "a month"),
    ("FEEDSVC_WEBSUB_MAX_ATTEMPTS", "0"),
    ("FEEDSVC_WEBSUB_BACKOFF_SECONDS", "-1"),
    ("FEEDSVC_WEBSUB_TIMEOUT_SECONDS", "0"),
    ("FEEDSVC_WEBSUB_VERIFY_TIMEOUT_SECONDS", "61"),
    ("FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE", "0"),
    ("FEEDSVC_WEBSUB_MAX_PENDING", "many"),
    ("FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST", "0"),
    ("FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS", "-1"),
    ("FEEDSVC_WEBSUB_MAX_SUBSCRIPTIONS_PER_HOST", "1.5"),
    ("FEEDSVC_WEBSUB_HOST_CONCURRENCY", "9"),
    ("FEEDSVC_STATS", "sometimes"),
    ("FEEDSVC_STATS_TOKEN", "one,two"),
    ("FEEDSVC_STATS_RETENTION_DAYS", "0"),
    ("FEEDSVC_POLL_LIMIT", "10 per minute"),
    ("FEEDSVC_POLL_LIMIT", "0/60"),
    ("FEEDSVC_POLL_ALLOW", "10.0.0.0/33"),
    ("FEEDSVC_POLL_ALLOW", "ua:x"),
    ("FEEDSVC_POLL_ALLOW", "10.0.0.1,,ua:Feedly"),
    ("FEEDSVC_CACHE_SHARED_MAX_AGE", "-1"),
    ("FEEDSVC_CACHE_STALE_WHILE_REVALIDATE", "soon"),
    ("FEEDSVC_CACHE_STALE_IF_ERROR", "1.5"),
    ("FEEDSVC_SURROGATE_KEY_HEADERS", "Surrogate-Key, X-Tags"),
    ("FEEDSVC_PURGE_NGINX", "127.0.0.1:80"),
    ("FEEDSVC_PURGE_VARNISH", "http://127.0.0.1:6081/"),
    ("FEEDSVC_PURGE_FASTLY_SERVICE", "svc/1"),
    ("FEEDSVC_PURGE_FASTLY_SERVICE", "SU1Z0isxPaozGVKXdv0eY"),  # without its token
    ("FEEDSVC_PURGE_FASTLY_TOKEN", "a b"),
    ("FEEDSVC_PURGE_FASTLY_SOFT", "maybe"),
    ("FEEDSVC_PURGE_CLOUDFLARE_ZONE", "example.com"),
    ("FEEDSVC_PURGE_CLOUDFLARE_TOKEN", "secret"),  # without its zone
    ("FEEDSVC_PURGE_TIMEOUT_SECONDS", "0"),
    ("FEEDSVC_PURGE_GIVE_UP_SECONDS", "0.1"),
]


def test_every_variable_has_a_bad_value_above() -> None:
    assert {name for name, _ in BAD} == {row.variable for row in TABLE}


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_value_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app({name: value})
    assert str(caught.value).startswith(f"{name}: ")


def test_tag_authority_is_recorded_and_cannot_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    app = create_app({"FEEDSVC_DATABASE_URL": url, "FEEDSVC_TAG_AUTHORITY": "news.example,2026"})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    services_of(app).shutdown()
    same = create_app({"FEEDSVC_DATABASE_URL": url, "FEEDSVC_TAG_AUTHORITY": "news.example,2026"})
    services_of(same).shutdown()
    with pytest.raises(ConfigError) as caught:
        create_app({"FEEDSVC_DATABASE_URL": url, "FEEDSVC_TAG_AUTHORITY": "other.example,2026"})
    message = str(caught.value)
    assert message.startswith("FEEDSVC_TAG_AUTHORITY: ") and "news.example,2026" in message


def test_the_readme_table_is_the_settings_table() -> None:
    readme = config_readme.README.read_text(encoding="utf-8")
    assert config_readme.with_table(readme) == readme, (
        "README.md's configuration table differs from the settings in feedsvc/config.py: run "
        "python -m feedsvc.config.readme --write"
    )


def test_the_table_has_one_row_per_setting_with_its_default() -> None:
    rows = config_readme.markdown_table().splitlines()[2:]
    cells = [row.removeprefix("| ").removesuffix(" |").split(" | ") for row in rows]
    assert [variable for variable, _, _ in cells] == [f"`{row.variable}`" for row in TABLE]
    shown = {variable.strip("`"): default for variable, _, default in cells}
    assert shown["FEEDSVC_FEED_ITEMS"] == "`50`"
    assert shown["FEEDSVC_DATABASE_URL"] == "`sqlite:///<repo>/instance/feedsvc.db`"
    assert shown["FEEDSVC_MAX_BODY_BYTES"] == "`8388608` (8 MiB)"
    assert shown["FEEDSVC_API_TOKENS"] == "unset"
    assert shown["FEEDSVC_TAG_AUTHORITY"] == "host of the site URL + `,2026`"


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    begin, end = config_readme.TABLE_BEGIN, config_readme.TABLE_END
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nBefore.\n\n{begin}\n| old |\n{end}\n\nAfter.\n", encoding="utf-8")
    config_readme.main(["--write", str(readme)])
    table = config_readme.markdown_table()
    expected = f"# T\n\nBefore.\n\n{begin}\n{table}{end}\n\nAfter.\n"
    assert readme.read_text(encoding="utf-8") == expected


def test_write_refuses_a_readme_without_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# No table here\n", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        config_readme.main(["--write", str(readme)])
    assert caught.value.code == 1
    assert readme.read_text(encoding="utf-8") == "# No table here\n"


def test_without_write_it_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    config_readme.main([])
    assert capsys.readouterr().out == config_readme.markdown_table()
