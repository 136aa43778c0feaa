"""Cloudflare: purge by cache tag through its API.

``POST /client/v4/zones/{zone_id}/purge_cache`` with ``Authorization: Bearer <token>`` (a token
with the Cache Purge permission) and ``{"tags": [...]}``; Cloudflare answers with its envelope,
``{"success": true, "errors": [], "messages": [], "result": {"id": ...}}``, and on failure
``"success": false`` with ``errors`` as ``[{"code": ..., "message": ...}]``. Tags are sent 30 to
a request, a number every plan accepts. Cloudflare reads the tags from our ``Cache-Tag`` header
and strips it before readers.
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

API = "https://api.cloudflare.com"
BATCH = 30


class CloudflarePurge:
    """Purges by cache tag with Cloudflare's purge_cache API."""

    name = "cloudflare"

    def __init__(self, zone: str, token: str, timeout: float, *, api: str = API) -> None:
        self.zone = zone
        self._token = token  # sent in Authorization only: never in a message or a log
        self.endpoint = Endpoint(api, timeout)

    def close(self) -> None:
        """Close the kept connection."""
        self.endpoint.close()

    def purge(self, feeds: Sequence[str]) -> None:
        """One request per 30 tags."""
        for tags in batches(purge_keys(feeds), BATCH):
            self._purge(tags)

    def _purge(self, tags: list[str]) -> None:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        body = json.dumps({"tags": tags}).encode()
        path = f"/client/v4/zones/{self.zone}/purge_cache"
        status, _, answer = self.endpoint.send("POST", path, headers, body)
        parsed = parse_json(answer)
        ok = isinstance(parsed, dict) and parsed.get("success") is True
        if status == 200 and ok:
            return
        detail = _errors(parsed) or excerpt(answer)
        if status == 200:
            raise PurgeError(f"Cloudflare answered 200 without success: {detail}")
        raise status_error("Cloudflare", status, detail)


def _errors(parsed: Any) -> str:
    """Cloudflare's ``errors``, as ``code message`` pairs."""
    if not isinstance(parsed, dict) or not isinstance(parsed.get("errors"), list):
        return ""
    return "; ".join(
        f"{e.get('code')} {e.get('message')}" for e in parsed["errors"] if isinstance(e, dict)
    )
