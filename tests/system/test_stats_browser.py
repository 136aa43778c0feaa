"""The editors' page in a real browser (Debian's Chromium through Selenium, as
tests/system/test_browser.py): signing in through the form, the charts drawn, no script, no
policy violation, no sideways scroll on a 375 px phone; screenshots at phone and desktop widths
saved as PNG files under a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.servers import make_run
from tests.system.test_browser import (
    DESKTOP,
    Viewport,
    browser,  # noqa: F401 - the fixture, shared
    capture,
    console_errors,
    open_page,
    page_top,
)

pytestmark = pytest.mark.slow

TOKEN = "editors-browser-token"
PHONE = Viewport("phone", 375, 812, True)
READERS = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )", "/feeds/thoi-su.rss"),
    (
        "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; "
        "12 subscribers; )",
        "/feeds/all.rss",
    ),
    (
        "NewsBlur Feed Fetcher - 25 subscribers - http://www.newsblur.com/site/1/x",
        "/feeds/all.atom",
    ),
    ("Newsboat/2.30.1 - https://newsboat.org/", "/feeds/thoi-su.rss"),
    ("NetNewsWire (RSS Reader; https://netnewswire.com/)", "/feeds/all.json"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "/feeds/all.rss"),
]

LAYOUT_JS = """
return {
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  charts: document.querySelectorAll("figure svg.chart").length,
  lines: document.querySelectorAll("svg.chart polyline.series").length,
  bars: document.querySelectorAll("svg.chart rect.bar").length,
  chartWidths: [...document.querySelectorAll("figure svg.chart")].map(
    (s) => s.getBoundingClientRect().right),
  scripts: document.scripts.length,
  rows: document.querySelectorAll("table tbody tr").length,
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make run`` with the editors' token, and a few readers' fetches recorded."""
    folder = tmp_path_factory.mktemp("stats-browser")
    settings = {
        "FEEDSVC_STATS_TOKEN": TOKEN,
        # The readers below all come from 127.0.0.1: trust no proxy, so each one's address is
        # its own (the polling limit never refuses a trusted proxy).
        "FEEDSVC_TRUSTED_PROXIES": "",
    }
    with make_run(folder, ["/feeds/thoi-su.rss"], **settings) as base:
        for agent, path in READERS:
            response = requests.get(base + path, headers={"User-Agent": agent}, timeout=10)
            assert response.status_code == 200
        yield base


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stats-screenshots")


def screenshot(driver: Any, path: Path, viewport: Viewport) -> None:
    path.write_bytes(capture(driver, viewport.width, page_top(driver), True))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and path.stat().st_size > 5000


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=lambda v: v.name)
def test_editors_page(
    server: str,
    browser: Any,  # noqa: F811 - the fixture imported above
    viewport: Viewport,
    screenshots: Path,
) -> None:
    driver = browser
    driver.delete_all_cookies()
    open_page(driver, f"{server}/stats", viewport)
    # Not signed in: the form, and no figures.
    assert driver.execute_script("return document.querySelectorAll('svg.chart').length") == 0
    screenshot(driver, screenshots / f"stats-signin-{viewport.name}.png", viewport)
    field = driver.find_element("css selector", "input[name=token]")
    field.send_keys(TOKEN)
    field.submit()
    layout = driver.execute_script(LAYOUT_JS)
    assert driver.current_url == f"{server}/stats", driver.page_source[:2000]
    assert layout["charts"] == 4, layout
    assert layout["lines"] >= 2 and layout["bars"] >= 3, layout
    assert layout["scripts"] == 0
    assert layout["scrollWidth"] <= layout["innerWidth"], f"horizontal overflow: {layout}"
    assert all(right <= layout["innerWidth"] for right in layout["chartWidths"]), layout
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies["feedsvc_stats"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    assert TOKEN not in driver.current_url
    screenshot(driver, screenshots / f"stats-{viewport.name}.png", viewport)
    assert driver.execute_script("return window.__cspViolations") == []
    assert console_errors(driver) == []
