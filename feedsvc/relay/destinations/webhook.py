"""A webhook: one ``POST`` of the story as JSON per story, signed
(``X-Feedsvc-Signature: sha256=HEX``, the HMAC-SHA256 of the body with the destination's
secret) and carrying ``X-Feedsvc-Delivery`` (the same on every retry of one story: the
receiver can drop a repeat). Any answer but 2xx, or none, is retried with the backoff."""

from __future__ import annotations

import hashlib

from feedsvc.http.signature import signature
from feedsvc.relay import client
from feedsvc.relay.config import Destination
from feedsvc.relay.destinations import SENT, Outcome, retry
from feedsvc.relay.message import Story, webhook_body

SIGNATURE_HEADER = "X-Feedsvc-Signature"
DELIVERY_HEADER = "X-Feedsvc-Delivery"


class Webhook:
    def __init__(self, destination: Destination, timeout: float) -> None:
        self.name = destination.name
        self.url = str(destination.options["url"])
        self.secret = destination.secrets["secret"]
        self.timeout = timeout

    def send(self, story: Story) -> Outcome:
        body = webhook_body(story, self.name)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret.read(), body),
            DELIVERY_HEADER: hashlib.sha256(f"{self.name}\n{story.id}".encode()).hexdigest(),
        }
        try:
            answer = client.request("POST", self.url, self.timeout, body=body, headers=headers)
        except client.Unreachable as exc:
            return retry(f"webhook: no answer ({exc})")
        if 200 <= answer.status < 300:
            return SENT
        return retry(f"webhook answered {answer.status}")
