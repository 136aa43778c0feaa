"""Publish-to-chat latency of ``feedsvc relay`` (issue 17).

Starts feedsvc with the built-in hub on a fresh SQLite database, local Telegram and Zalo API
servers (tests/helpers/chat_apis.py), a plain WebSub subscriber on the ``all`` feed (the
baseline: the hub's own delivery, measured in the same run) and ``feedsvc relay`` with one
Telegram chat and one Zalo follower; then publishes articles one at a time through the ingest
API and times each from the moment the PUT is sent to the moment each API server accepted the
message carrying it. The destinations' pace is 0 here (one story at a time is measured): in
production a chat's pace (1 s, 3 s for groups) spaces out a burst, not a single story.

    python -m bench.relay_latency [--publishes 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench import WORKSPACE_ENV, Figure, free_port, percentile, standalone
from bench.websub_latency import SECRET, Subscriber

from tests.helpers.chat_apis import FakeTelegram, FakeZalo, Received
from tests.helpers.relay import article, live_service, publish, relay_process, toml_config

WAIT = 15.0
GAP = 0.4  # between publishes, so that each is measured alone
TARGET_P95_MS = 1000.0
BOT_TOKEN, APP_ID, SECRET_KEY = "42:bench-bot-token", "99", "bench-zalo-key"


def relay_env(
    folder: Path, service: dict[str, str], tg: FakeTelegram, zalo: FakeZalo
) -> dict[str, str]:
    """The relay's settings file and environment: one Telegram chat, one Zalo follower."""
    (folder / "refresh").write_text(zalo.refresh_token)
    destinations: dict[str, dict[str, Any]] = {
        "telegram": {
            "type": "telegram",
            "chat_id": "1001",
            "token_env": "BENCH_BOT_TOKEN",
            "api_base": tg.base,
            "pace_seconds": 0,
        },
        "zalo": {
            "type": "zalo",
            "app_id": APP_ID,
            "user_id": "5001",
            "secret_key_env": "BENCH_ZALO_KEY",
            "refresh_token_file": str(folder / "refresh"),
            "api_base": zalo.base,
            "oauth_base": zalo.base,
            "pace_seconds": 0,
        },
    }
    relay = {"listen": f"127.0.0.1:{free_port()}", "poll_seconds": 60, "safety_poll_seconds": 60}
    config = folder / "relay.toml"
    config.write_text(toml_config(relay, destinations), "utf-8")
    return {
        "FEEDSVC_DATABASE_URL": service["FEEDSVC_DATABASE_URL"],
        "FEEDSVC_BASE_URL": service["FEEDSVC_BASE_URL"],
        "FEEDSVC_CONFIG": str(config),
        "BENCH_BOT_TOKEN": BOT_TOKEN,
        "BENCH_ZALO_KEY": SECRET_KEY,
    }


def arrival(server: FakeTelegram | FakeZalo, url: str) -> float | None:
    """When ``server`` accepted the message linking to ``url`` (None after WAIT seconds)."""

    def link(message: Received) -> str:
        if isinstance(server, FakeTelegram):
            return str(message.params["reply_markup"]["inline_keyboard"][0][0]["url"])
        element = message.params["message"]["attachment"]["payload"]["elements"][0]
        return str(element["default_action"]["url"])

    if not server.wait_for(lambda got: any(link(m) == url for m in got), WAIT):
        return None
    return next(m.at for m in server.received if link(m) == url)


def run_once(folder: Path, publishes: int) -> list[Figure]:
    """Start everything once, publish ``publishes`` articles, return the figures."""
    tg, zalo, sub = FakeTelegram(BOT_TOKEN), FakeZalo(APP_ID, SECRET_KEY), Subscriber()
    latencies: dict[str, list[float]] = {"telegram": [], "zalo": [], "hub": []}
    try:
        with live_service(folder) as service:
            base = service["FEEDSVC_BASE_URL"]
            topic = f"{base}/feeds/all.json"
            sub.expect(topic)
            form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": sub.callback,
                    "hub.secret": SECRET, "hub.lease_seconds": "3600"}  # fmt: skip
            requests.post(f"{base}/websub", data=form, timeout=10).raise_for_status()
            if not sub.verified.wait(30):
                raise RuntimeError("the hub never verified the baseline subscriber")
            with relay_process(folder, relay_env(folder, service, tg, zalo)) as relay:
                relay.wait_log("feed all: subscribed through the hub", timeout=60)
                for n in range(publishes):
                    record = article("thoi-su", f"Bản tin thử {n}", summary="Sapo " * 20)
                    sent = publish(base, record)
                    for name, server in (("telegram", tg), ("zalo", zalo)):
                        at = arrival(server, record["url"])
                        if at is None:
                            raise RuntimeError(f"publish {n} never reached {name}:\n{relay.log()}")
                        latencies[name].append((at - sent) * 1000)
                    hub_at = sub.wait_for(record["url"], WAIT)
                    if hub_at is None:
                        raise RuntimeError(f"publish {n} never reached the baseline subscriber")
                    latencies["hub"].append((hub_at - sent) * 1000)
                    time.sleep(GAP)
    finally:
        for server in (tg, zalo, sub):
            server.close()
    if tg.malformed or zalo.malformed:
        raise RuntimeError(f"malformed requests: {tg.malformed + zalo.malformed}")
    return figures_for(latencies, publishes)


def figures_for(latencies: dict[str, list[float]], publishes: int) -> list[Figure]:
    hub50, hub95 = percentile(latencies["hub"], 50), percentile(latencies["hub"], 95)
    figures: list[Figure] = []
    for name in ("telegram", "zalo"):
        p50, p95 = percentile(latencies[name], 50), percentile(latencies[name], 95)
        figures.append(
            Figure("relay_latency", f"publish to {name} p50", p50, "ms", hub50, "hub delivery")
        )
        figures.append(
            Figure(
                "relay_latency",
                f"publish to {name} p95",
                p95,
                "ms",
                hub95,
                "hub delivery",
                target=f"<= {TARGET_P95_MS:g} ms",
                ok=p95 <= TARGET_P95_MS,
            )
        )
        figures.append(
            Figure("relay_latency", f"publish to {name} max", max(latencies[name]), "ms")
        )
    figures[0].note = f"{publishes} stories, the dev server of make run, SQLite"
    return figures


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """The ``python -m bench`` entry point: 40 publishes (100 with --full)."""
    folder = Path(os.environ[WORKSPACE_ENV]) / "relay"
    folder.mkdir()
    return run_once(folder, 100 if full else 40)


def main(argv: list[str] | None = None) -> int:
    """Run standalone and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.relay_latency", description=__doc__)
    parser.add_argument("--publishes", type=int, default=40)
    args = parser.parse_args(argv)
    return standalone(
        f"relay_latency ({args.publishes} publishes)",
        "relay-bench-",
        lambda folder: run_once(folder, args.publishes),
    )


if __name__ == "__main__":
    sys.exit(main())
