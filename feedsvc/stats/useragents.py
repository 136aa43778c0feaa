"""A table of known User-Agent formats: who a client is, its family, and the subscribers an
aggregator reports for the feed it fetches.

Aggregators fetch a feed once for all their users and say how many subscribe, each in its own
words (``16 subscribers`` in Feedly's and Inoreader's, ``- 25 subscribers -`` in NewsBlur's,
``feed-id:… - 42 subscribers`` in Feedbin's). Adding one is one :class:`Agent` line in
:data:`AGENTS`: a name, a family and a regular expression that recognises it; the subscriber
figure is the first ``N subscriber(s)`` in the string (or the pattern's ``subs`` group). The
table is ordered: the first match wins, so specific agents come before the browsers whose
tokens they borrow (``Mozilla/5.0 (compatible; Inoreader/1.0 …)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AGENTS", "FAMILIES", "Agent", "Client", "classify"]

# The families, in the order the editors' page lists them. A fixed set: Prometheus labels and
# the page's chart stay bounded whatever clients send.
AGGREGATOR = "aggregator"
WEB_READER = "web reader"  # self-hosted or hosted readers for one person or a few (Miniflux…)
DESKTOP_READER = "desktop reader"
MOBILE_READER = "mobile reader"
BROWSER = "browser"
BOT = "bot"
RELAY = "relay"  # our own relay bot (examples/bot) and the WebSub hub's deliveries
OTHER = "other"
FAMILIES = (
    AGGREGATOR,
    WEB_READER,
    DESKTOP_READER,
    MOBILE_READER,
    BROWSER,
    BOT,
    RELAY,
    OTHER,
)
# Families whose distinct clients are people reading (the estimated total counts them); an
# aggregator's readers are in its figure, a bot or a relay is not a reader itself.
READER_FAMILIES = frozenset({WEB_READER, DESKTOP_READER, MOBILE_READER, BROWSER, OTHER})

_SUBSCRIBERS = re.compile(r"(\d{1,9})\s+(?:subscribers?|readers?|users?)\b", re.IGNORECASE)
MAX_UA_LENGTH = 512  # longer strings are cut before matching: no client picks our CPU cost


@dataclass(frozen=True, slots=True)
class Agent:
    """One known client: its name, family and the pattern that recognises it."""

    name: str
    family: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Client:
    """What a User-Agent says: the client's name and family, and the subscribers it reports
    (None: it reports none)."""

    name: str
    family: str
    subscribers: int | None = None


def _agent(name: str, family: str, pattern: str) -> Agent:
    return Agent(name, family, re.compile(pattern, re.IGNORECASE))


AGENTS: tuple[Agent, ...] = (
    # Ours first: our relay bot (examples/bot) and the built-in hub's deliveries.
    _agent("feedsvc-relay", RELAY, r"\bfeedsvc-relay\b"),
    _agent("feedsvc-websub", RELAY, r"\bfeedsvc-websub\b"),
    # Aggregators that report their subscribers.
    _agent("Feedly", AGGREGATOR, r"\bFeedly(?:Bot)?/"),
    _agent("Inoreader", AGGREGATOR, r"\bInoreader/"),
    _agent("NewsBlur", AGGREGATOR, r"\bNewsBlur\b"),
    _agent("Feedbin", AGGREGATOR, r"^Feedbin\b"),
    _agent("The Old Reader", AGGREGATOR, r"\btheoldreader\.com\b"),
    _agent("Feedspot", AGGREGATOR, r"\bFeedspot\b"),
    _agent("Netvibes", AGGREGATOR, r"\bNetvibes\b"),
    _agent("Bloglovin", AGGREGATOR, r"\bBloglovin\b"),
    _agent("Feed Wrangler", AGGREGATOR, r"\bFeed ?Wrangler\b"),
    _agent("BazQux", AGGREGATOR, r"\bBazQux\b"),
    _agent("Feeder.co", AGGREGATOR, r"\bFeeder\.co\b"),
    _agent("Google Feedfetcher", AGGREGATOR, r"\bFeedfetcher-Google\b"),
    # Readers run by one person or a few, on a server.
    _agent("Miniflux", WEB_READER, r"\bMiniflux\b"),
    _agent("FreshRSS", WEB_READER, r"\bFreshRSS\b"),
    _agent("Tiny Tiny RSS", WEB_READER, r"\bTiny Tiny RSS\b"),
    _agent("CommaFeed", WEB_READER, r"\bCommaFeed\b"),
    _agent("Nextcloud News", WEB_READER, r"\bNextCloud-News\b"),
    # Desktop and mobile readers (NetNewsWire's iOS and Mac apps send the same string).
    _agent("NetNewsWire", DESKTOP_READER, r"\bNetNewsWire\b"),
    _agent("newsboat", DESKTOP_READER, r"\b(?:Newsboat|newsbeuter)/"),
    _agent("Thunderbird", DESKTOP_READER, r"\bThunderbird/"),
    _agent("QuiteRSS", DESKTOP_READER, r"\bQuiteRSS\b"),
    _agent("Liferea", DESKTOP_READER, r"\bLiferea/"),
    _agent("RSSOwl", DESKTOP_READER, r"\bRSSOwl\b"),
    _agent("ReadKit", DESKTOP_READER, r"\bReadKit\b"),
    _agent("Reeder", MOBILE_READER, r"\bReeder\b"),
    _agent("Unread", MOBILE_READER, r"\bUnread\b"),
    _agent("Feeder", MOBILE_READER, r"^Feeder\b|\bFeeder/\d|\bSpaceCowboys Android"),
    _agent("Flym", MOBILE_READER, r"\bFlym\b"),
    _agent("Podcast Addict", MOBILE_READER, r"\bPodcastAddict\b"),
    # Crawlers and scripts: fetch, but nobody reads through them.
    _agent("Googlebot", BOT, r"\bGooglebot\b"),
    _agent("bingbot", BOT, r"\bbingbot\b"),
    _agent("Applebot", BOT, r"\bApplebot\b"),
    _agent("YandexBot", BOT, r"\bYandex\w*Bot\b"),
    _agent("DuckDuckBot", BOT, r"\bDuckDuckBot\b"),
    _agent("W3C validator", BOT, r"\bW3C_Validator\b|\bFeedValidator\b"),
    _agent("curl", BOT, r"^curl/"),
    _agent("Wget", BOT, r"^Wget/"),
    _agent("python-requests", BOT, r"^python-requests/"),
    _agent("Python urllib", BOT, r"^Python-urllib/"),
    _agent("Go http client", BOT, r"^Go-http-client/"),
    # Browsers last: every agent above may borrow their tokens.
    _agent("Edge", BROWSER, r"\bEdg(?:e|A|iOS)?/"),
    _agent("Firefox", BROWSER, r"\b(?:Firefox|FxiOS)/"),
    _agent("Chrome", BROWSER, r"\b(?:Chrome|CriOS)/"),
    _agent("Safari", BROWSER, r"\bVersion/[\d.]+ (?:Mobile/\w+ )?Safari/"),
)

UNKNOWN = Client("unknown", OTHER)
# Applied after the table and after the subscriber figure: a crawler not in the table.
_GENERIC_BOT = re.compile(r"bot\b|crawler|spider|\+https?://", re.IGNORECASE)
OTHER_BOT = Client("other bot", BOT)


def classify(user_agent: str | None) -> Client:
    """The client a User-Agent names, by the first agent of :data:`AGENTS` that matches."""
    text = (user_agent or "")[:MAX_UA_LENGTH]
    if not text.strip() or text == "-":
        return UNKNOWN
    for agent in AGENTS:
        if agent.pattern.search(text):
            found = _SUBSCRIBERS.search(text) if agent.family == AGGREGATOR else None
            return Client(agent.name, agent.family, int(found[1]) if found else None)
    found = _SUBSCRIBERS.search(text)
    if found is not None:
        # An aggregator not in the table that reports its readers the usual way: counted as one,
        # under its product token (``Name/1.0``), so the figure is not lost until it is added.
        token = re.match(r"[A-Za-z][\w .-]{0,40}?(?=/|\s|\(|;|$)", text)
        name = token[0].strip() if token else "other aggregator"
        return Client(name[:48], AGGREGATOR, int(found[1]))
    return OTHER_BOT if _GENERIC_BOT.search(text) else UNKNOWN
