"""Table tests for the pages' browser protections: each image URL's origin as a CSP source, and
the policy built from the base URL and a page's images."""

from __future__ import annotations

import pytest

from feedsvc.http.page_policy import (
    content_security_policy,
    legacy_page_headers,
    origin,
    page_headers,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.bienphong.com.vn/images/a.jpg", "https://www.bienphong.com.vn"),
        ("HTTPS://CDN.Example/A.JPG", "https://cdn.example"),
        ("http://127.0.0.1:8000/static/icon-64.png", "http://127.0.0.1:8000"),
        ("https://cdn.example:443/x.png", "https://cdn.example:443"),
        ("https://user:pw@cdn.example/x.png", "https://cdn.example"),
        ("https://ảnh.example/x.png", "https://xn--nh-k5s.example"),
        ("https://[2001:db8::1]/x.png", "https:"),
        ("https://cdn.example;script-src */x.png", "https:"),
        ("https://cdn.example:99999/x.png", None),
        ("javascript:alert(1)", None),
        ("data:image/png;base64,AAAA", None),
        ("//cdn.example/x.png", None),
        ("/static/x.png", None),
        ("", None),
    ],
)
def test_origin(url: str, expected: str | None) -> None:
    assert origin(url) == expected


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        found[name] = sources
    return found


def test_the_policy_of_a_page() -> None:
    policy = content_security_policy(
        "https://rss.example/base",
        [
            "https://rss.example/static/icon-64.png",
            "https://img.paper.example/1.jpg",
            "https://img.paper.example/2.jpg",
            "http://old.paper.example/3.jpg",
            "javascript:alert(1)",
        ],
    )
    assert directives(policy) == {
        "default-src": ["'none'"],
        "style-src": ["https://rss.example"],
        "img-src": ["https://rss.example", "http://old.paper.example", "https://img.paper.example"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    assert "script" not in policy and "unsafe" not in policy


def test_page_headers() -> None:
    headers = dict(page_headers("http://feeds.test"))
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert directives(headers["Content-Security-Policy"])["img-src"] == ["http://feeds.test"]
    legacy = dict(legacy_page_headers())
    assert set(legacy) == set(headers)
    assert directives(legacy["Content-Security-Policy"])["default-src"] == ["'none'"]
    assert "frame-ancestors 'none'" in legacy["Content-Security-Policy"]
