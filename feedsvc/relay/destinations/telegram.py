"""Telegram Bot API: ``sendPhoto`` (the photo by URL, an HTML caption, a "Đọc tiếp" button), or
``sendMessage`` with a link preview when the story has no photo.

Answers (https://core.telegram.org/bots/api#making-requests): ``{"ok": true, "result": …}``, or
``{"ok": false, "error_code", "description", "parameters"?}``. 429 carries
``parameters.retry_after`` (seconds), honoured as given. A photo Telegram cannot fetch is sent
again as a text message. The token is in the URL path: no URL is ever logged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from feedsvc.relay import client
from feedsvc.relay.config import Destination
from feedsvc.relay.destinations import SENT, Outcome, drop, pause, retry
from feedsvc.relay.message import Story, telegram_request

PHOTO_REFUSED = ("wrong file identifier", "failed to get http url content", "wrong type of")


class Telegram:
    """One chat of one bot."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        self.name = destination.name
        self.chat_id = str(destination.options["chat_id"])
        self.api_base = str(destination.options["api_base"])
        self.token = destination.secrets["token"]
        self.timeout = timeout

    def send(self, story: Story) -> Outcome:
        method, params = telegram_request(self.chat_id, story)
        outcome, description = self._call(method, params)
        if outcome.kind == "drop" and method == "sendPhoto" and _photo_refused(description):
            # Telegram could not fetch or use the photo: the story still goes, as text.
            method, params = telegram_request(self.chat_id, replace(story, image=None))
            outcome, _ = self._call(method, params)
        return outcome

    def _call(self, method: str, params: dict[str, Any]) -> tuple[Outcome, str]:
        url = f"{self.api_base}/bot{self.token.read()}/{method}"
        try:
            answer = client.post_json(url, params, self.timeout)
        except client.Unreachable as exc:
            return retry(f"Telegram {method}: no answer ({exc})"), ""
        data = answer.json()
        if answer.status == 200 and data.get("ok") is True:
            return SENT, ""
        code = data.get("error_code", answer.status)
        description = str(data.get("description", ""))[:300]
        what = f"Telegram {method} answered {code}: {description or answer.status}"
        parameters = data.get("parameters") or {}
        if answer.status == 429 or code == 429:
            after = parameters.get("retry_after")
            seconds = float(after) if isinstance(after, int | float) else None
            return retry(what, seconds), description
        if "migrate_to_chat_id" in parameters:
            return pause(
                f"{what}; the group became a supergroup: set chat_id = "
                f'"{parameters["migrate_to_chat_id"]}" for this destination and restart',
                3600,
            ), description
        if answer.status in (401, 404):
            return pause(f"{what}; check the bot token (token_file / token_env)", 300), ""
        if answer.status == 403:
            return pause(
                f"{what}; add the bot to the chat again (or let it post in the channel)", 600
            ), description
        if answer.status == 400:
            return drop(what), description.lower()
        return retry(what), description


def _photo_refused(description: str) -> bool:
    return any(text in description for text in PHOTO_REFUSED)
