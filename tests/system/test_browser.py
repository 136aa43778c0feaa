"""The pages for people in a real browser: Debian's Chromium, driven by Selenium through Debian's
chromedriver (nothing downloads a browser), against ``make run`` on a free loopback port.

The pages' Content-Security-Policy (issue 13, finding 11) is in force: every image must still
load, the demo photos from the service and one article's photo from another origin (a photo
host started here), and the browser must report no violation of the policy.

Screenshots at phone and desktop widths land in ``test-output/screenshots/`` (gitignored).
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.app import article
from tests.helpers.instances import put_article
from tests.helpers.paths import REPO
from tests.helpers.servers import QuietHandler, make_run

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL_HINT = "apt-get install chromium chromium-driver"
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        f"the browser test needs Debian's Chromium and its driver: {INSTALL_HINT}",
        allow_module_level=True,
    )
pytest.importorskip(
    "selenium", reason="the browser test drives Chromium with Selenium: pip install selenium"
)

from selenium import webdriver  # noqa: E402  (only once we know it is installed)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers makes tabs crash
)
NEWSPAPER_TIME = re.compile(
    r"(Chủ nhật|Thứ (hai|ba|tư|năm|sáu|bảy)), \d{2}/\d{2}/\d{4} \d{2}:\d{2} GMT\+7"
)
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool


PHONE = Viewport("phone", 390, 844, True)
DESKTOP = Viewport("desktop", 1366, 900, False)

TOKEN = "browser-test-token"
FOREIGN_ID = "anh-noi-khac"  # the article whose photo comes from another origin

# Reads every image of the page after scrolling each into view (lazy ones load only then).
LOAD_IMAGES_JS = """
const done = arguments[arguments.length - 1];
const images = [...document.images];
(async () => {
  for (const img of images) {
    img.scrollIntoView({block: "center"});
    if (!img.complete) {
      await new Promise((ok) => {
        img.addEventListener("load", ok, {once: true});
        img.addEventListener("error", ok, {once: true});
      });
    }
  }
  window.scrollTo(0, 0);
  done(images.map((img) => ({
    src: img.currentSrc, width: img.naturalWidth, alt: img.alt, item: !!img.closest("main article"),
  })));
})();
"""

# Before any page script could run (CDP-injected scripts are not subject to the page's CSP):
# remember every Content-Security-Policy violation the page reports.
RECORD_VIOLATIONS_JS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.effectiveDirective, blocked: e.blockedURI});
});
"""

ITEMS_JS = """
return [...document.querySelectorAll("main article")].map((a) => ({
  title: a.querySelector("h3 a")?.textContent ?? "",
  href: a.querySelector("h3 a")?.href ?? "",
  time: a.querySelector("time")?.textContent ?? "",
  datetime: a.querySelector("time")?.getAttribute("datetime") ?? "",
  caption: a.querySelector("figcaption")?.textContent ?? null,
}));
"""

LINKS_JS = """
return [...document.querySelectorAll('link[rel="alternate"]')].map((l) => ({
  type: l.type, href: l.getAttribute("href"), title: l.title,
}));
"""

LAYOUT_JS = """
const box = (sel) => document.querySelector(sel)?.getBoundingClientRect().toJSON() ?? null;
return {
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  subscribe: box(".subscribe"),
  content: box(".stream") ?? box(".catalogue"),
  scripts: document.scripts.length,
  lang: document.documentElement.lang,
};
"""


@pytest.fixture(scope="module")
def photo_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another origin serving one photo (a newspaper's image host); yields the photo's URL."""
    root = tmp_path_factory.mktemp("photos")
    shutil.copy(REPO / "feedsvc" / "static" / "demo" / "ban-lang.jpg", root / "anh.jpg")
    handler = functools.partial(QuietFiles, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/anh.jpg"
        finally:
            httpd.shutdown()


class QuietFiles(SimpleHTTPRequestHandler, QuietHandler):
    """Serves the files of its directory; logs nothing (QuietHandler's log_message)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, photo_host: str) -> Iterator[str]:
    """``make run`` on a fresh database (demo newsroom) and a free port, with one more article
    whose photo is on ``photo_host``; yields its base URL."""
    folder = tmp_path_factory.mktemp("browser")
    with make_run(folder, ["/feeds/thoi-su.html"], FEEDSVC_API_TOKENS=TOKEN) as base:
        record = article(
            FOREIGN_ID,
            "thoi-su",
            published_at=datetime.now(UTC).isoformat(),
            image={"url": photo_host, "caption": "Ảnh từ máy chủ ảnh của báo"},
        )
        stored = put_article(base, record, TOKEN)
        assert stored.status_code == 201, stored.text
        wait_until_shown(f"{base}/feeds/thoi-su.html", photo_host)
        yield base


def wait_until_shown(url: str, text: str, timeout: float = 30) -> None:
    """Poll ``url`` until its body contains ``text`` (the regeneration has run)."""
    deadline = datetime.now(UTC).timestamp() + timeout
    while datetime.now(UTC).timestamp() < deadline:
        if text in requests.get(url, timeout=5).text:
            return
    raise AssertionError(f"{text!r} not on {url} within {timeout} s")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, its console kept for the checks."""
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    tmp = tmp_path_factory.mktemp("chromium")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths given: Selenium Manager is never asked to find (or download) anything.
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS_JS}
    )
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: webdriver.Chrome, url: str, viewport: Viewport) -> None:
    """Load ``url`` in an exactly ``viewport``-sized window (CDP device metrics emulation)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": viewport.width,
            "height": viewport.height,
            "deviceScaleFactor": 1,
            "mobile": viewport.mobile,
        },
    )
    driver.get(url)


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Console entries at error level since the last call (failed loads, script errors, and
    Content-Security-Policy violations, which Chromium reports there too)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def check_policy(driver: webdriver.Chrome, url: str, photo_hosts: set[str]) -> None:
    """The page came with its strict policy, and the browser reported no violation of it."""
    policy = requests.get(url, timeout=5).headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script" not in policy, policy
    assert "frame-ancestors 'none'" in policy, policy
    for host in photo_hosts:
        assert host in policy, (host, policy)
    assert driver.execute_script("return window.__cspViolations") == []


def check_images(images: list[dict[str, Any]]) -> None:
    """Every image of the page (photos, icon) loaded, under the policy."""
    broken = [image for image in images if image["width"] <= 0]
    assert broken == [], f"images that did not load: {broken}"


def save_screenshots(driver: webdriver.Chrome, name: str, viewport: Viewport) -> list[Path]:
    """The first screen, and the page's top (up to 4000 px) beyond it, as PNG files."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        f"{name}-{viewport.name}.png": (viewport.height, False),
        f"{name}-{viewport.name}-long.png": (page_top(driver), True),
    }
    paths = []
    for filename, (height, beyond) in shots.items():
        path = SCREENSHOTS / filename
        path.write_bytes(capture(driver, viewport.width, height, beyond))
        paths.append(path)
    return paths


def page_top(driver: webdriver.Chrome) -> int:
    """The height of the page's top worth a screenshot: all of it, up to 4000 px."""
    return min(int(driver.execute_script("return document.documentElement.scrollHeight")), 4000)


def capture(driver: webdriver.Chrome, width: int, height: int, beyond: bool) -> bytes:
    """A PNG of the page's top ``width`` x ``height`` pixels; with ``beyond``, past the first
    screen."""
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": beyond}
    )
    return base64.b64decode(shot["data"])


def check_layout(layout: dict[str, Any], viewport: Viewport) -> None:
    """No sideways scroll; subscribe panel above the content on a phone, beside it on desktop."""
    assert layout["lang"] == "vi"
    assert layout["scripts"] == 0, "the pages must be readable without JavaScript"
    assert layout["scrollWidth"] <= layout["innerWidth"], f"horizontal overflow: {layout}"
    subscribe, content = layout["subscribe"], layout["content"]
    assert subscribe is not None and content is not None
    if viewport.mobile:
        assert subscribe["bottom"] <= content["top"], layout
    else:
        assert subscribe["left"] >= content["right"], layout


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=lambda v: v.name)
def test_index_page(server: str, browser: webdriver.Chrome, viewport: Viewport) -> None:
    open_page(browser, f"{server}/", viewport)
    links = browser.execute_script(LINKS_JS)
    hrefs = {link["href"]: link["type"] for link in links}
    for fmt, media_type in FEED_TYPES.items():
        assert hrefs[f"{server}/feeds/all.{fmt}"] == media_type
    assert hrefs[f"{server}/feeds/thoi-su.rss"] == FEED_TYPES["rss"]
    assert hrefs[f"{server}/feeds/quoc-phong-an-ninh.rss"] == FEED_TYPES["rss"]
    assert all(href.startswith(f"{server}/feeds/") for href in hrefs)
    cards = browser.execute_script(
        "return [...document.querySelectorAll('.cards h3 a')].map((a) => a.href)"
    )
    assert f"{server}/feeds/all.html" in cards and f"{server}/feeds/thoi-su.html" in cards
    images = browser.execute_async_script(LOAD_IMAGES_JS)
    assert images, "the masthead's icon"
    check_images(images)
    check_layout(browser.execute_script(LAYOUT_JS), viewport)
    save_screenshots(browser, "index", viewport)
    check_policy(browser, f"{server}/", set())
    assert console_errors(browser) == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=lambda v: v.name)
def test_category_page(
    server: str, photo_host: str, browser: webdriver.Chrome, viewport: Viewport
) -> None:
    open_page(browser, f"{server}/feeds/thoi-su.html", viewport)
    links = browser.execute_script(LINKS_JS)
    assert {(link["type"], link["href"]) for link in links} == {
        (media_type, f"{server}/feeds/thoi-su.{fmt}") for fmt, media_type in FEED_TYPES.items()
    }
    items = browser.execute_script(ITEMS_JS)
    assert len(items) > 10
    for item in items:
        assert item["title"].strip() and item["href"].startswith("http"), item
        assert NEWSPAPER_TIME.fullmatch(item["time"]), item
        assert item["datetime"].endswith("+07:00"), item
    times = [item["datetime"] for item in items]
    assert times == sorted(times, reverse=True), "newest first"
    images = browser.execute_async_script(LOAD_IMAGES_JS)
    photos = [image for image in images if image["item"]]
    assert len(photos) > 10
    check_images(images)
    assert all(image["alt"] for image in photos), "every photo has its caption as its alt"
    # The newest item's photo comes from another origin, which the page's policy names.
    assert photos[0]["src"] == photo_host, photos[0]
    assert all(image["src"].startswith(f"{server}/static/") for image in photos[1:])
    copy = browser.execute_script("return document.querySelector('.subscribe code').textContent")
    assert copy == f"{server}/feeds/thoi-su.rss"
    check_layout(browser.execute_script(LAYOUT_JS), viewport)
    save_screenshots(browser, "thoi-su", viewport)
    photo_origin = photo_host.rsplit("/", 1)[0]
    check_policy(browser, f"{server}/feeds/thoi-su.html", {photo_origin})
    assert console_errors(browser) == []
