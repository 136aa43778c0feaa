"""Local stand-ins for the Telegram Bot API and Zalo's OA Open API v3 and OAuth v4, on
127.0.0.1: they check each request against the documented shapes strictly (a wrong one gets
the service's own error answer and is counted in ``malformed``), record the messages they
accept, and can be told to fail the next requests: ``429`` with ``retry_after``, an expired
token, a ``5xx``, a timeout (no answer; nothing delivered)."""

from __future__ import annotations

import html.parser
import http.server
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers.servers import QuietHandler

TIMEOUT_HOLD = 3.0  # seconds a "timeout" fault holds the request (over the relay's timeout)


@dataclass
class Received:
    """One accepted message: the recipient, the method or path, its parameters, when."""

    recipient: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class _Quiet(http.server.ThreadingHTTPServer):
    """A client that hung up (the relay killed, or timed out) is not an error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Server:
    """A threaded HTTP server whose handler calls ``self.handle(method, path, headers, body)``."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.received: list[Received] = []
        self.malformed: list[str] = []
        self.faults: list[str] = []
        self.requests = 0
        self.latency = 0.0
        self.server = _Quiet(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def fail_next(self, *faults: str) -> None:
        """Queue faults for the next message requests, one each."""
        with self.lock:
            self.faults.extend(faults)

    def take_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def accept(self, message: Received) -> None:
        with self.lock:
            self.received.append(message)
            self.lock.notify_all()

    def refuse(self, why: str) -> None:
        with self.lock:
            self.malformed.append(why)

    def wait_for(self, check: Callable[[list[Received]], bool], timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: check(self.received), timeout)

    def handle(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        raise NotImplementedError

    def _handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake.lock:
                    fake.requests += 1
                if fake.latency:
                    time.sleep(fake.latency)
                answer = fake.handle("POST", self.path, self.headers, body)
                if answer is None:  # a timeout: hold, then hang up without an answer
                    time.sleep(TIMEOUT_HOLD)
                    self.close_connection = True
                    return
                status, data = answer
                self.reply(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _CaptionParser(html.parser.HTMLParser):
    """Telegram's HTML style, the part the relay may use: <b> and <a href>, well nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "b" and not attrs:
            self.open.append(tag)
        elif tag == "a" and [name for name, _ in attrs] == ["href"]:
            self.open.append(tag)
        else:
            self.errors.append(f"unsupported tag <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"unmatched </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def telegram_visible_text(markup: str) -> tuple[str, list[str]]:
    """The text Telegram shows for HTML ``markup``, and what is wrong with the markup."""
    parser = _CaptionParser()
    parser.feed(markup)
    parser.close()
    errors = parser.errors + [f"unclosed <{t}>" for t in parser.open]
    if "<" in markup.replace("<b>", "").replace("</b>", "").replace("</a>", "").replace(
        "<a href=", ""
    ):
        errors.append("a raw < in the text")
    return "".join(parser.text), errors


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram(_Server):
    """``POST /bot<token>/sendPhoto|sendMessage`` with a JSON body, as the Bot API takes it."""

    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__()

    def handle(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        prefix = f"/bot{self.token}/"
        if not path.startswith("/bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        api_method = path[len(prefix) :]
        fault = self.take_fault()
        if fault is not None:
            return self._fault(fault)
        problem, params = self._check(api_method, headers, body)
        if problem:
            self.refuse(problem)
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
        self.accept(Received(str(params["chat_id"]), api_method, params))
        return 200, {"ok": True, "result": {"message_id": len(self.received), "date": 0}}

    def _fault(self, fault: str) -> tuple[int, dict[str, Any]] | None:
        if fault == "timeout":
            return None
        if fault.startswith("429:"):
            after = int(fault[4:])
            description = f"Too Many Requests: retry after {after}"
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": description,
                "parameters": {"retry_after": after},
            }
        code = int(fault)
        return code, {"ok": False, "error_code": code, "description": "Internal Server Error"}

    def _check(self, method: str, headers: Any, body: bytes) -> tuple[str, dict[str, Any]]:
        if headers.get("Content-Type", "").split(";")[0] != "application/json":
            return "Content-Type must be application/json", {}
        try:
            params = json.loads(body)
        except ValueError:
            return "body is not JSON", {}
        if not isinstance(params, dict):
            return "body is not an object", {}
        allowed = {
            "sendPhoto": {"chat_id", "photo", "caption", "parse_mode", "reply_markup"},
            "sendMessage": {
                "chat_id",
                "text",
                "parse_mode",
                "link_preview_options",
                "reply_markup",
            },
        }
        if method not in allowed:
            return f"method {method} is not used by the relay", params
        if set(params) - allowed[method]:
            return f"unknown parameters {sorted(set(params) - allowed[method])}", params
        if not isinstance(params.get("chat_id"), str | int):
            return "chat_id is required", params
        if params.get("parse_mode") != "HTML":
            return "parse_mode must be HTML", params
        text_key, limit = ("caption", 1024) if method == "sendPhoto" else ("text", 4096)
        markup = params.get(text_key)
        if not isinstance(markup, str) or not markup:
            return f"{text_key} is required", params
        visible, errors = telegram_visible_text(markup)
        if errors:
            return f"can't parse entities: {errors[0]}", params
        if utf16(visible) > limit:
            return f"message {text_key} is too long ({utf16(visible)} > {limit})", params
        if method == "sendPhoto" and not str(params.get("photo", "")).startswith("http"):
            return "wrong file identifier/HTTP URL specified", params
        if method == "sendMessage":
            preview = params.get("link_preview_options")
            if not isinstance(preview, dict) or not str(preview.get("url", "")).startswith("http"):
                return "link_preview_options.url is required", params
        keyboard = (params.get("reply_markup") or {}).get("inline_keyboard")
        if not (
            isinstance(keyboard, list)
            and keyboard
            and all(isinstance(row, list) and row for row in keyboard)
            and all(
                isinstance(b, dict) and set(b) == {"text", "url"} and b["url"].startswith("http")
                for row in keyboard
                for b in row
            )
        ):
            return "reply_markup.inline_keyboard must be rows of {text, url} buttons", params
        return "", params


ZALO_TITLE_MAX, ZALO_SUBTITLE_MAX = 100, 500


class FakeZalo(_Server):
    """Zalo OA Open API v3 (``/v3.0/oa/message/{cs,promotion}``,
    ``/v3.0/oa/group/message``, header ``access_token``) and OAuth v4
    (``/v4/oa/access_token``: header ``secret_key``, a form with ``app_id``,
    ``grant_type=refresh_token`` and a single-use ``refresh_token``)."""

    def __init__(self, app_id: str, secret_key: str) -> None:
        self.app_id, self.secret_key = app_id, secret_key
        self.access_token: str | None = None
        self.refresh_token = "rt-" + secrets.token_hex(8)
        self.spent: set[str] = set()
        self.refreshes = 0
        self.hold_refresh = threading.Event()  # set: the next renewal is held after it counted
        self.release = threading.Event()
        self.refresh_held = threading.Event()
        super().__init__()

    def expire_access(self) -> None:
        """The access token in force stops working (its 25 hours ran out)."""
        with self.lock:
            self.access_token = None

    def issue_refresh_token(self) -> str:
        """A new refresh token, as authorising the OA again gives one."""
        with self.lock:
            self.refresh_token = "rt-" + secrets.token_hex(8)
            return self.refresh_token

    def handle(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        route = urlsplit(path).path
        if route == "/v4/oa/access_token":
            return self._oauth(headers, body)
        recipient_key = "group_id" if route == "/v3.0/oa/group/message" else "user_id"
        if route not in {f"/v3.0/oa/message/{t}" for t in ("cs", "promotion")} | {
            "/v3.0/oa/group/message"
        }:
            return 404, {"error": 404, "message": "not found"}
        token = headers.get("access_token")
        with self.lock:
            valid = token is not None and token == self.access_token
        if not valid:
            return 200, {"error": -216, "message": "Access token is invalid"}
        fault = self.take_fault()
        if fault == "timeout":
            return None
        if fault == "expired":
            self.expire_access()
            return 200, {"error": -216, "message": "Access token is invalid"}
        if fault == "rate":
            return 200, {"error": -32, "message": "Exceeded rate limit"}
        if fault == "quota":
            return 200, {"error": -211, "message": "Out of quota"}
        if fault is not None:
            return int(fault), {"error": int(fault), "message": "server error"}
        problem, data = self._check(headers, body, recipient_key, route.endswith("/promotion"))
        if problem:
            self.refuse(problem)
            return 200, {"error": -201, "message": f"Parameters are invalid: {problem}"}
        who = data["recipient"][recipient_key]
        self.accept(Received(who, route, data))
        return 200, {
            "error": 0,
            "message": "Success",
            "data": {"message_id": secrets.token_hex(8), recipient_key: who},
        }

    def _check(
        self, headers: Any, body: bytes, recipient_key: str, promotion: bool
    ) -> tuple[str, Any]:
        if headers.get("Content-Type", "").split(";")[0] != "application/json":
            return "Content-Type must be application/json", None
        try:
            data = json.loads(body)
        except ValueError:
            return "body is not JSON", None
        if not isinstance(data, dict) or set(data) != {"recipient", "message"}:
            return "body must be {recipient, message}", data
        recipient = data["recipient"]
        if not isinstance(recipient, dict) or set(recipient) != {recipient_key}:
            return f"recipient must be {{{recipient_key}}}", data
        attachment = (data["message"] or {}).get("attachment") or {}
        payload = attachment.get("payload") or {}
        if promotion:
            return self._check_promotion(attachment, payload), data
        if attachment.get("type") != "template" or payload.get("template_type") != "list":
            return "message.attachment must be a list template", data
        elements = payload.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
            return "elements: 1 to 5", data
        for element in elements:
            if set(element) - {"title", "subtitle", "image_url", "default_action"}:
                return "unknown element fields", data
            title = element.get("title")
            if not isinstance(title, str) or not title or len(title) > ZALO_TITLE_MAX:
                return "title: 1 to 100 characters", data
            if len(element.get("subtitle", "")) > ZALO_SUBTITLE_MAX:
                return "subtitle: at most 500 characters", data
            action = element.get("default_action") or {}
            if action.get("type") != "oa.open.url" or not str(action.get("url", "")).startswith(
                "http"
            ):
                return "default_action must be oa.open.url with a url", data
        return "", data

    def _check_promotion(self, attachment: dict[str, Any], payload: dict[str, Any]) -> str:
        """The "promotion" template: banner?, header, text?, and buttons."""
        if attachment.get("type") != "template" or payload.get("template_type") != "promotion":
            return "message.attachment must be a promotion template"
        if set(payload) != {"template_type", "elements", "buttons"}:
            return "promotion payload: template_type, elements, buttons"
        kinds = [e.get("type") for e in payload["elements"]]
        if kinds not in (
            ["banner", "header", "text"],
            ["banner", "header"],
            ["header", "text"],
            ["header"],
        ):
            return f"promotion elements in this order: banner?, header, text? (got {kinds})"
        for element in payload["elements"]:
            content = element.get("content", "")
            if element["type"] == "header" and not 0 < len(content) <= ZALO_TITLE_MAX:
                return "header: 1 to 100 characters"
            if element["type"] == "text" and len(content) > ZALO_SUBTITLE_MAX:
                return "text: at most 500 characters"
            if element["type"] == "banner" and not str(element.get("image_url", "")).startswith(
                "http"
            ):
                return "banner: image_url"
        for button in payload["buttons"]:
            if button.get("type") != "oa.open.url" or not str(
                (button.get("payload") or {}).get("url", "")
            ).startswith("http"):
                return "buttons: oa.open.url with payload.url"
        return ""

    def _oauth(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]] | None:
        if headers.get("secret_key") != self.secret_key:
            return 200, {"error": -14002, "error_name": "Invalid secret key"}
        if headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return 200, {"error": -14001, "error_name": "Invalid parameter"}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            return 200, {"error": -14001, "error_name": "Invalid parameter"}
        with self.lock:
            given = form.get("refresh_token")
            if given != self.refresh_token:
                return 200, {"error": -14014, "error_name": "Invalid refresh token"}
            self.spent.add(given)
            self.refreshes += 1
            self.access_token = "at-" + secrets.token_hex(8)
            self.refresh_token = "rt-" + secrets.token_hex(8)
            answer = {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }
        if self.hold_refresh.is_set():
            # Zalo has spent the old token and made the new pair; the answer never arrives.
            self.refresh_held.set()
            self.release.wait(30)
            return None
        return 200, answer
