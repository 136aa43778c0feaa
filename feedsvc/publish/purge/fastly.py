"""Fastly: purge by surrogate key through its API.

``POST /service/{service_id}/purge`` with ``Fastly-Key: <token>`` (a token with the
``purge_select`` scope) and the keys as JSON, ``{"surrogate_keys": [...]}``, up to 256 per
request; Fastly answers ``200`` with a JSON object mapping each key to its purge id, and an
error as ``{"msg": ..., "detail": ...}`` (``401`` for a bad token, ``429`` when rate limited).
``Fastly-Soft-Purge: 1`` marks the objects stale instead (served while Fastly refetches).
Fastly reads the keys from our ``Surrogate-Key`` header and strips it before readers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from feedsvc.publish.purge.base import (
    Endpoint,
    PurgeError,
    batches,
    excerpt,
    parse_json,
    purge_keys,
    status_error,
)

API = "https://api.fastly.com"
BATCH = 256  # keys per request (Fastly's limit)


class FastlyPurge:
    """Purges by surrogate key with Fastly's batch purge API."""

    name = "fastly"

    def __init__(
        self, service: str, token: str, timeout: float, *, soft: bool = False, api: str = API
    ) -> None:
        self.service = service
        self._token = token  # sent in Fastly-Key only: never in a message or a log
        self.soft = soft
        self.endpoint = Endpoint(api, timeout)

    def close(self) -> None:
        """Close the kept connection."""
        self.endpoint.close()

    def purge(self, feeds: Sequence[str]) -> None:
        """One request per 256 keys."""
        for keys in batches(purge_keys(feeds), BATCH):
            self._purge(keys)

    def _purge(self, keys: list[str]) -> None:
        headers = {
            "Fastly-Key": self._token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if self.soft:
            headers["Fastly-Soft-Purge"] = "1"
        body = json.dumps({"surrogate_keys": keys}).encode()
        status, _, answer = self.endpoint.send(
            "POST", f"/service/{self.service}/purge", headers, body
        )
        parsed = parse_json(answer)
        if status != 200:
            raise status_error("Fastly", status, _fastly_error(parsed, answer))
        if not isinstance(parsed, dict) or not set(keys) <= set(parsed):
            raise PurgeError("Fastly answered 200 without a purge id for every key")


def _fastly_error(parsed: Any, raw: bytes) -> str:
    """Fastly's ``msg`` and ``detail``, or the start of the answer."""
    if isinstance(parsed, dict) and "msg" in parsed:
        detail = parsed.get("detail")
        return str(parsed["msg"]) + (f" ({detail})" if detail else "")
    return excerpt(raw)
