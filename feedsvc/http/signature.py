"""The HMAC body signature feedsvc sends and checks: ``sha256=`` and the hex HMAC-SHA256 of the
body. The hub signs deliveries with it (WebSub §7.1 ``X-Hub-Signature``); the relay checks the
hub's and signs its own webhooks (``X-Feedsvc-Signature``). One definition, so they agree."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    """The header value for ``body`` signed with ``secret``: ``sha256=HEX``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` (``sha256=HEX``) signs ``body`` with ``secret`` (constant time)."""
    return hmac.compare_digest(header.strip(), signature(secret, body))
