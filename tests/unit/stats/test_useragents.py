"""The User-Agent table with the strings real aggregators, readers, browsers and bots send."""

from __future__ import annotations

import pytest

from feedsvc.stats.useragents import AGENTS, FAMILIES, Client, classify

REAL = [
    # Aggregators and the subscribers they report.
    (
        "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )",
        Client("Feedly", "aggregator", 16),
    ),
    (
        "Feedly/1.0 (+https://feedly.com/poller.html; 1 subscribers; )",
        Client("Feedly", "aggregator", 1),
    ),
    ("FeedlyBot/1.0 (http://feedly.com)", Client("Feedly", "aggregator", None)),
    (
        "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; "
        "12 subscribers; )",
        Client("Inoreader", "aggregator", 12),
    ),
    (
        "NewsBlur Feed Fetcher - 25 subscribers - http://www.newsblur.com/site/6420451/"
        "bao-bien-phong (Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_1) AppleWebKit/534.48.3 "
        "(KHTML, like Gecko) Version/5.1 Safari/534.48.3)",
        Client("NewsBlur", "aggregator", 25),
    ),
    ("Feedbin feed-id:1392284 - 42 subscribers", Client("Feedbin", "aggregator", 42)),
    (
        "Mozilla/5.0 (compatible; theoldreader.com; 7 subscribers; "
        "feed-id=5f1a2b3c4d5e6f7a8b9c0d1e)",
        Client("The Old Reader", "aggregator", 7),
    ),
    (
        "Mozilla/5.0 (compatible; Feedspot/1.0 (+https://www.feedspot.com/fs/fetcher; like "
        "FeedFetcher-Google)",
        Client("Feedspot", "aggregator", None),
    ),
    (
        "Netvibes (crawler/1.0; http://www.netvibes.com/; 3 subscribers; feedID: 41257861)",
        Client("Netvibes", "aggregator", 3),
    ),
    (
        "Bloglovin/1.0 (http://www.bloglovin.com; 55 subscribers)",
        Client("Bloglovin", "aggregator", 55),
    ),
    # Readers run on a server for one person or a few.
    (
        "Mozilla/5.0 (compatible; Miniflux/2.0.46; +https://miniflux.app)",
        Client("Miniflux", "web reader"),
    ),
    ("FreshRSS/1.21.0 (Linux; https://freshrss.org)", Client("FreshRSS", "web reader")),
    (
        "Tiny Tiny RSS/23.04-0578bf8 (https://tt-rss.org/)",
        Client("Tiny Tiny RSS", "web reader"),
    ),
    # Desktop and mobile readers.
    ("NetNewsWire (RSS Reader; https://netnewswire.com/)", Client("NetNewsWire", "desktop reader")),
    ("Newsboat/2.30.1 - https://newsboat.org/", Client("newsboat", "desktop reader")),
    ("newsbeuter/2.9 (Linux x86_64)", Client("newsboat", "desktop reader")),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0",
        Client("Thunderbird", "desktop reader"),
    ),
    ("Reeder/5.0 CFNetwork/1410.0.3 Darwin/22.6.0", Client("Reeder", "mobile reader")),
    # Browsers.
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Client("Chrome", "browser"),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        Client("Firefox", "browser"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        Client("Safari", "browser"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
        Client("Edge", "browser"),
    ),
    # Bots and scripts.
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Client("Googlebot", "bot"),
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        Client("bingbot", "bot"),
    ),
    ("curl/8.5.0", Client("curl", "bot")),
    ("python-requests/2.31.0", Client("python-requests", "bot")),
    ("Go-http-client/1.1", Client("Go http client", "bot")),
    # Ours: the example relay bot and the built-in hub.
    ("feedsvc-relay/1 (+examples/bot)", Client("feedsvc-relay", "relay")),
    ("feedsvc-websub/1", Client("feedsvc-websub", "relay")),
    # Nothing, or nothing known.
    ("", Client("unknown", "other")),
    ("-", Client("unknown", "other")),
    ("SomethingNew/0.1", Client("unknown", "other")),
]


@pytest.mark.parametrize(("user_agent", "expected"), REAL, ids=[c.name for _u, c in REAL])
def test_real_user_agents(user_agent: str, expected: Client) -> None:
    assert classify(user_agent) == expected


def test_an_aggregator_not_in_the_table_still_counts_its_subscribers() -> None:
    found = classify("NewReader/2.0 (+https://newreader.example; 31 subscribers)")
    assert found == Client("NewReader", "aggregator", 31)


def test_every_agent_has_a_known_family() -> None:
    assert {agent.family for agent in AGENTS} <= set(FAMILIES)


def test_a_huge_user_agent_is_cut_before_matching() -> None:
    found = classify("x" * 100_000 + " Feedly/1.0 (9 subscribers)")
    assert found.name == "unknown"
