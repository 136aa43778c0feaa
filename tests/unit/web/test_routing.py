"""Routing without redirects made up from the request, and the one way a redirect's Location is
built: on FEEDSVC_BASE_URL."""

from __future__ import annotations

import pytest
from flask import Flask

from feedsvc.web.routing import NoRedirectMap, public_location


@pytest.mark.parametrize(
    ("new_url", "script_root", "base_url", "expected"),
    [
        ("http://evil.example/x/", "", "https://rss.example", "https://rss.example/x/"),
        ("http://evil.example/x/?a=1&b", "", "https://rss.example", "https://rss.example/x/?a=1&b"),
        (
            "http://evil.example:81/rss/x/",
            "/rss",
            "https://n.example/rss",
            "https://n.example/rss/x/",
        ),
        (
            "http://evil.example//other.example/",
            "",
            "https://rss.example",
            "https://rss.example/other.example/",
        ),
        ("http://evil.example", "", "https://rss.example", "https://rss.example/"),
    ],
)
def test_public_location(new_url: str, script_root: str, base_url: str, expected: str) -> None:
    assert public_location(new_url, script_root, base_url) == expected


def test_the_app_routes_with_no_redirect_map(app: Flask) -> None:
    assert isinstance(app.url_map, NoRedirectMap)
    static = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == "static")
    assert static.merge_slashes is False
    assert app.url_map.redirect_defaults is False
