"""The editors' page: who may see it (form and cookie, bearer), no-store on every answer, and
charts that are well-formed SVG."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html

from tests.helpers.app import services

TOKEN = "editors-token-1"
FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"FEEDSVC_STATS_TOKEN": TOKEN, "FEEDSVC_BASE_URL": "https://feeds.test"}


@pytest.fixture
def audience(newsroom: Flask) -> Flask:
    """A few readers of thoi-su: Feedly's figure and two direct readers."""
    client = newsroom.test_client()
    for agent, address in ((FEEDLY, "192.0.2.1"), ("Newsboat/2.30.1", "192.0.2.2"),
                           ("NetNewsWire (RSS Reader)", "192.0.2.3")):  # fmt: skip
        environ = {"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent}
        assert client.get("/feeds/thoi-su.rss", environ_base=environ).status_code == 200
    return newsroom


def set_cookie(response: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["Set-Cookie"])
    return cookie


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post("/stats/sign-in", data={"token": TOKEN}, base_url="https://feeds.test")
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def test_the_form_without_credentials(audience: Flask) -> None:
    response = audience.test_client().get("/stats")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = html.fromstring(response.data)
    (form,) = page.xpath("//form")
    assert form.get("method") == "post" and form.get("action") == "https://feeds.test/stats/sign-in"
    assert page.xpath("//input[@name='token']/@type") == ["password"]
    policy = response.headers["Content-Security-Policy"]
    assert "form-action https://feeds.test" in policy and "script" not in policy
    assert not page.xpath("//svg")  # no figures before signing in


def test_sign_in_sets_a_strict_cookie_and_shows_the_page(audience: Flask) -> None:
    client = audience.test_client()
    response = client.post("/stats/sign-in", data={"token": TOKEN}, base_url="https://feeds.test")
    assert (
        response.status_code == 303 and response.headers["Location"] == "https://feeds.test/stats"
    )
    assert response.headers["Cache-Control"] == "no-store"
    morsel = set_cookie(response)["feedsvc_stats"]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/" and TOKEN not in morsel.value
    page = client.get("/stats", base_url="https://feeds.test")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    tree = html.fromstring(page.data)
    assert tree.xpath("//td[text()='thoi-su']")
    assert tree.xpath("//form[@action='https://feeds.test/stats/sign-out']")
    out = client.post("/stats/sign-out", base_url="https://feeds.test")
    assert out.status_code == 303 and "feedsvc_stats=;" in out.headers["Set-Cookie"]


def test_a_wrong_token_is_refused(audience: Flask) -> None:
    client = audience.test_client()
    response = client.post("/stats/sign-in", data={"token": "guess"}, base_url="https://feeds.test")
    assert response.status_code == 401 and response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert html.fromstring(response.data).xpath("//p[@role='alert']")
    forged = client.get("/stats.json", headers={"Cookie": "feedsvc_stats=editor"})
    assert forged.status_code == 401


def test_another_site_cannot_sign_a_browser_in(audience: Flask) -> None:
    response = audience.test_client().post(
        "/stats/sign-in",
        data={"token": TOKEN},
        headers={"Origin": "https://evil.example"},
        base_url="https://feeds.test",
    )
    assert response.status_code == 403 and response.headers["Cache-Control"] == "no-store"


def test_scripts_use_the_bearer_token(audience: Flask) -> None:
    client = audience.test_client()
    response = client.get("/stats.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    report = json.loads(response.data)
    (feed,) = report["feeds"]
    assert (feed["feed"], feed["subscribers"], feed["from_aggregators"]) == ("thoi-su", 18, 16)
    assert feed["series"] == [{"day": "2026-11-20", "subscribers": 18}]
    assert report["aggregators"] == [{"name": "Feedly", "subscribers": 16, "feeds": 1}]
    wrong = client.get("/stats.json", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["Cache-Control"] == "no-store"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/stats.json").status_code == 401
    page = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200 and b"<svg" in page.data
    # A wrong or empty bearer is refused; another scheme (a proxy's Basic) is no bearer at all:
    # the browser still gets the sign-in form.
    assert client.get("/stats", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/stats.json", headers={"Authorization": "Bearer"}).status_code == 401
    basic = client.get("/stats", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 200 and b"<svg" not in basic.data


@pytest.mark.parametrize("query", [f"token={TOKEN}", f"access_token={TOKEN}"])
def test_never_a_token_in_the_url(audience: Flask, query: str) -> None:
    for path in ("/stats", "/stats.json"):
        response = audience.test_client().get(f"{path}?{query}")
        assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"


def test_errors_are_not_stored_either(audience: Flask) -> None:
    response = audience.test_client().get("/stats/sign-in")
    assert response.status_code == 405 and response.headers["Cache-Control"] == "no-store"


def test_the_charts_are_well_formed_svg_without_script(audience: Flask) -> None:
    page = signed_in(audience).get("/stats", base_url="https://feeds.test")
    text = page.get_data(as_text=True)
    # Each chart as sent, parsed by an XML parser: well-formed, or this raises.
    charts = [etree.fromstring(m) for m in re.findall(r'<svg xmlns="[^"]+".*?</svg>', text, re.S)]
    assert len(charts) == 4  # 30 days, 90 days, families, aggregators
    for svg in charts:
        assert svg.tag == f"{SVG}svg" and svg.get("viewBox") and svg.get("width") == "100%"
        assert not list(svg.iter(f"{SVG}script")) and not svg.xpath("//@href | //@style")
        assert svg.find(f"{SVG}title").text
    assert charts[0].findall(f"{SVG}polyline")
    bars = [t.text for t in charts[3].iter(f"{SVG}title")]
    assert bars[1].startswith("Feedly: 16")
    tree = html.fromstring(page.data)
    assert not tree.xpath("//script") and not tree.xpath("//*[@style]")


def test_no_token_no_page(newsroom: Flask) -> None:
    # The default fixture sets a token; an app without one has no /stats at all.
    from feedsvc import create_app

    s = services(newsroom)
    app = create_app({"FEEDSVC_DATABASE_URL": s.settings.database_url, "FEEDSVC_SCHEDULER": "off",
                      "FEEDSVC_STATS_TOKEN": ""})  # fmt: skip
    try:
        assert app.test_client().get("/stats").status_code == 404
        assert app.test_client().get("/stats.json").status_code == 404
    finally:
        services(app).shutdown()
