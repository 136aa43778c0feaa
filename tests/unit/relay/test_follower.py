"""The router: which destinations a feed's stories go to (categories, keywords, the age window),
each once, whatever feed and however often they are seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from feedsvc.clock import FrozenClock
from feedsvc.relay import outbox
from feedsvc.relay.config import load_relay_config
from feedsvc.relay.follower import Router, _links
from feedsvc.store.db import Database

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def item(n: int, title: str, minutes_ago: float = 1) -> dict[str, Any]:
    return {
        "id": f"tag:x,2026:article/{n}",
        "url": f"https://x.example/{n}",
        "title": title,
        "date_published": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
    }


def router(db: Database, woken: list[str]) -> Router:
    tg = {"type": "telegram", "token_env": "T"}
    config = load_relay_config(
        {
            "max_age_seconds": 3600,
            "destinations": {
                "thoisu": {**tg, "chat_id": "1", "categories": ["thoi-su"]},
                "everything": {**tg, "chat_id": "2"},
                "border": {**tg, "chat_id": "3", "keywords": ["biên giới"]},
            },
        },
        {"T": "1:t"},
        "http://x.example",
    )
    return Router(config, db, FrozenClock(NOW), woken.append)


def queued(db: Database) -> dict[tuple[str, str], int]:
    with db.reading() as session:
        return outbox.state_counts(session)


def test_each_destination_gets_what_it_asked_for_once(db: Database) -> None:
    woken: list[str] = []
    route = router(db, woken).route
    items = [item(1, "Tuần tra biên giới"), item(2, "Giá lúa"), item(3, "Tin cũ", 61)]
    assert route("thoi-su", items, "pushed") == 2  # thoisu takes 1 and 2; the old one: nobody
    assert route("all", items, "pushed") == 3  # everything: 1 and 2; border: 1
    assert route("all", items, "polled") == 0  # seen again: nothing
    assert route("kinh-te", items, "polled") == 0  # a feed no destination follows
    assert queued(db) == {
        ("thoisu", "pending"): 2,
        ("everything", "pending"): 2,
        ("border", "pending"): 1,
    }
    assert sorted(set(woken)) == ["border", "everything", "thoisu"]


def test_a_second_router_adds_nothing_already_queued(db: Database) -> None:
    # Queued first (everything and border), or the second router's 0 would prove nothing.
    assert router(db, []).route("all", [item(1, "Biên giới")], "pushed") == 2
    assert router(db, []).route("all", [item(1, "Biên giới")], "polled") == 0  # a restart


def test_link_headers() -> None:
    links = _links(['<http://h/websub>; rel="hub", <http://h/feeds/all.json>; rel="self"'])
    assert links == {"hub": "http://h/websub", "self": "http://h/feeds/all.json"}
