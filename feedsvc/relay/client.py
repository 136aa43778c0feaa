"""The relay's outgoing HTTP: JSON and form requests with a timeout, every answer returned
(errors included) and every transport failure raised as :class:`Unreachable`. URLs are never
part of a message: a Telegram URL carries the bot token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode

USER_AGENT = "feedsvc-relay"


class Unreachable(Exception):
    """No answer: refused, reset, timed out, or not HTTP."""


@dataclass(frozen=True)
class Answer:
    """A response: its status, headers and body."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; {} when it is not one (every API the relay calls answers
        an object, or an error page)."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # an API that redirects a POST is answered as it is: nothing follows it


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(
    method: str,
    url: str,
    timeout: float,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request; its answer (any status), or Unreachable."""
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    req = urllib.request.Request(url, data=body, headers=all_headers, method=method)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, exc.headers, exc.read())
    except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{type(reason).__name__}: {reason}") from None


def post_json(url: str, data: Any, timeout: float, headers: dict[str, str] | None = None) -> Answer:
    """POST ``data`` as JSON."""
    body = json.dumps(data, ensure_ascii=False).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return request("POST", url, timeout, body=body, headers=all_headers)


def post_form(
    url: str, form: dict[str, str], timeout: float, headers: dict[str, str] | None = None
) -> Answer:
    """POST ``form`` as application/x-www-form-urlencoded."""
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return request("POST", url, timeout, body=urlencode(form).encode(), headers=all_headers)
