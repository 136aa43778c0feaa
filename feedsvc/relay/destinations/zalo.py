"""Zalo Official Account, Open API v3: the story as a "list" template message (title, sapo as
subtitle, photo, a default action opening the article) to one follower (``user_id``, message
type ``cs``: ``/v3.0/oa/message/cs``) or one group (``group_id``: ``/v3.0/oa/group/message``);
or, with message type ``promotion`` (``/v3.0/oa/message/promotion``, the plan's promotion
quota), as the "promotion" template (banner, header, text, a "Đọc tiếp" button).

Zalo answers HTTP 200 with ``{"error": 0, "message": "Success", "data": …}`` or a negative
error code, told apart below (Zalo's error table): an invalid or expired access token is
renewed; rate limited: retried a minute later; out of quota: the destination waits for the
next day (Vietnam time); bad parameters, or a recipient Zalo will not deliver to: the story is
dropped, logged. Unknown codes and 5xx are retried with the backoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from feedsvc.clock import Clock
from feedsvc.relay import client
from feedsvc.relay.config import Destination
from feedsvc.relay.destinations import SENT, Outcome, drop, pause, retry
from feedsvc.relay.message import Story, zalo_element, zalo_promotion
from feedsvc.relay.tokens import TokenKeeper, TokenLockout, TokenUnavailable
from feedsvc.store.db import Database

TOKEN_ERRORS = {-216, -220, -124}  # access token invalid / expired
RATE_LIMITED = {-32}
QUOTA = {-211, -218}  # the OA's (or the recipient's) quota of messages is spent
BAD_PARAMS = {-201, -210, -233}
RECIPIENT = {-213, -217, -227, -230, -232}  # not a follower, no recent interaction, …
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def keeper_for(
    destination: Destination,
    db: Database,
    clock: Clock,
    timeout: float,
    keepers: dict[str, TokenKeeper],
) -> TokenKeeper:
    """The token keeper of the destination's app: one per app_id in ``keepers`` (the
    runner's, shared by every destination of the process), so one renewal serves them all."""
    app_id = str(destination.options["app_id"])
    if app_id not in keepers:
        keepers[app_id] = TokenKeeper(
            app_id,
            destination.secrets["secret_key"],
            destination.secrets["refresh_token"],
            destination.secrets.get("access_token"),
            str(destination.options["oauth_base"]),
            db,
            clock,
            timeout,
        )
    return keepers[app_id]


class Zalo:
    """One recipient (a follower or a group) of one OA."""

    def __init__(
        self,
        destination: Destination,
        db: Database,
        clock: Clock,
        timeout: float,
        keepers: dict[str, TokenKeeper] | None = None,
    ) -> None:
        options = destination.options
        self.clock, self.timeout = clock, timeout
        self.keeper = keeper_for(
            destination, db, clock, timeout, {} if keepers is None else keepers
        )
        base = str(options["api_base"])
        self.promotion = options["message_type"] == "promotion" and "group_id" not in options
        if "group_id" in options:
            self.url = f"{base}/v3.0/oa/group/message"
            self.recipient = {"group_id": str(options["group_id"])}
        else:
            self.url = f"{base}/v3.0/oa/message/{options['message_type']}"
            self.recipient = {"user_id": str(options["user_id"])}

    def body(self, story: Story) -> dict[str, Any]:
        """The request body for one story."""
        if self.promotion:
            payload = zalo_promotion(story)
        else:
            payload = {"template_type": "list", "elements": [zalo_element(story)]}
        attachment = {"type": "template", "payload": payload}
        return {"recipient": self.recipient, "message": {"attachment": attachment}}

    def send(self, story: Story) -> Outcome:
        try:
            token = self.keeper.current()
        except TokenLockout as exc:
            return pause(str(exc), 60)
        except TokenUnavailable as exc:
            return retry(str(exc))
        try:
            answer = client.post_json(
                self.url, self.body(story), self.timeout, {"access_token": token}
            )
        except client.Unreachable as exc:
            return retry(f"Zalo: no answer ({exc})")
        if answer.status >= 500 or answer.status == 429:
            return retry(f"Zalo answered {answer.status}")
        data = answer.json()
        code = data.get("error")
        if answer.status == 200 and code == 0:
            return SENT
        what = f"Zalo answered error {code}: {str(data.get('message', ''))[:200]}"
        if code in TOKEN_ERRORS:
            try:
                self.keeper.renew(token)
            except TokenLockout as exc:
                return pause(str(exc), 60)
            except TokenUnavailable as exc:
                return retry(f"{what}; {exc}")
            return retry(f"{what}; token renewed", 0)
        if code in RATE_LIMITED:
            return retry(f"{what} (rate limited)", 60)
        if code in QUOTA:
            return pause(
                f"{what} (quota spent): this destination waits for the next day; a larger "
                "quota comes with the OA's plan (Zalo OA Manager > Packages)",
                self._until_tomorrow(),
            )
        if code in BAD_PARAMS or answer.status == 400:
            return drop(f"{what} (bad parameters: this story is not sent)")
        if code in RECIPIENT:
            return drop(f"{what} (Zalo will not deliver to this recipient now)")
        return retry(what)

    def _until_tomorrow(self) -> float:
        now = self.clock.now().astimezone(VIETNAM)
        tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), VIETNAM)
        return max(60.0, (tomorrow - now).total_seconds() + 60)
