"""A live feedsvc (the dev server with the built-in hub, on its own SQLite file) and
``feedsvc relay`` processes beside it, for the relay's system tests and its benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import REPO, free_port, started, stop, wait_http

TOKEN = "relay-test-token"
CATEGORIES = {"thoi-su": "Thời sự", "kinh-te": "Kinh tế"}


@contextmanager
def live_service(folder: Path, **extra: str) -> Iterator[dict[str, str]]:
    """feedsvc with the built-in hub on a free port (no demo data: the categories above);
    yields the environment a relay beside it needs (its database and base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FEEDSVC_DATABASE_URL": f"sqlite:///{folder / 'feedsvc.db'}",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_BASE_URL": base,
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_WEBSUB_HUB": "self",
        # The relay's callback listens on 127.0.0.1 (docs/relay.md: the address rule).
        "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",
        "FEEDSVC_WEBSUB_BACKOFF_SECONDS": "0.3",
        "FEEDSVC_REGENERATE_SECONDS": "3600",
        "FEEDSVC_FEED_ITEMS": "100",
        **extra,
    }
    subprocess.run(
        [sys.executable, "-m", "feedsvc", "init-db"],
        cwd=REPO,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    with started([sys.executable, "-m", "feedsvc.devserver"], env, folder / "server.log") as proc:
        wait_http(f"{base}/healthz", timeout=60, proc=proc)
        for slug, name in CATEGORIES.items():
            response = requests.put(
                f"{base}/api/v1/categories/{slug}",
                json={"name": name},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
            response.raise_for_status()
        for slug in [*CATEGORIES, "all"]:
            deadline = time.monotonic() + 60
            while requests.get(f"{base}/feeds/{slug}.json", timeout=5).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{base}/feeds/{slug}.json never appeared")
                time.sleep(0.1)
        yield env


def article(
    slug: str, title: str, *, summary: str = "", image: bool = True, tag: str = ""
) -> dict[str, Any]:
    """A new article record, published a second ago."""
    article_id = f"{tag or 'relay'}-{uuid.uuid4().hex[:10]}"
    record: dict[str, Any] = {
        "id": article_id,
        "url": f"https://bienphong.example/{article_id}.html",
        "title": title,
        "categories": [slug],
        "published_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
    }
    if summary:
        record["summary"] = summary
    if image:
        record["image"] = {"url": f"https://bienphong.example/{article_id}.jpg"}
    return record


def publish(base: str, record: dict[str, Any]) -> float:
    """PUT one article through the ingest API; time.monotonic() when it was sent."""
    sent = time.monotonic()
    response = requests.put(
        f"{base}/api/v1/articles/{record['id']}",
        json=record,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return sent


def toml_config(relay: dict[str, Any], destinations: dict[str, dict[str, Any]]) -> str:
    """A settings file holding ``[relay]`` and its ``[relay.destinations.NAME]`` tables."""
    lines = ["[relay]"] + [f"{k} = {_toml(v)}" for k, v in relay.items()]
    for name, table in destinations.items():
        lines += ["", f"[relay.destinations.{name}]"]
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


class Relay:
    """``feedsvc relay`` as a child process in its own group; started again after each stop."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = (self.folder / f"relay-{self.runs}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedsvc", "relay"],
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill9(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM, as systemd stops it."""
        if self.proc is not None:
            stop(self.proc, timeout=30)
            self.proc = None

    def log(self) -> str:
        return "\n".join(
            (self.folder / f"relay-{n}.log").read_text("utf-8", "replace")
            for n in range(1, self.runs + 1)
        )

    def wait_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"the relay never logged {text!r}:\n{self.log()}")


@contextmanager
def relay_process(folder: Path, env: dict[str, str]) -> Iterator[Relay]:
    relay = Relay(folder, env)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()
