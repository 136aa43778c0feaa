"""Logging: one line per event, plain text or JSON (FEEDSVC_LOG_FORMAT). Query strings are
redacted wherever a URL is logged, so a token sent in one never reaches a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

QUERY_RE = re.compile(r"(\?)[^\s\"']+")
BEARER_RE = re.compile(r"(?i)(bearer\s+)[^\s\"']+")
# RFC 6750 §2.2/§2.3: a token may also travel as a form parameter (access_token); a WebSub
# subscriber's hub.secret is one too.
PARAM_RE = re.compile(r"(?i)((?:access_token|token|secret)=)[^\s\"'&]+")


def redact(text: str) -> str:
    """Drop query strings, bearer credentials and token parameters from a log message."""
    text = PARAM_RE.sub(r"\1[redacted]", text)
    return BEARER_RE.sub(r"\1[redacted]", QUERY_RE.sub(r"\1[redacted]", text))


class RedactingFilter(logging.Filter):
    """Applies :func:`redact` to every record, whoever logged it (werkzeug, granian, us)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Formatters reuse exc_text: redacted here, a traceback quoting a URL is too.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
        return True


class TextFormatter(logging.Formatter):
    """``time level logger: message``; line breaks in a message are escaped, so a value that
    contains one (a request path, say) cannot forge a log line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        # A record's own fields (the access log's: client, status, bytes, …) as keys of their own.
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update({k: v for k, v in fields.items() if k not in data})
        if record.exc_info:
            data["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter of FEEDSVC_LOG_FORMAT: ``json`` or ``text``."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(fmt: str, level: str = "info") -> None:
    """Install one handler on the root logger (once per process); it writes the records of
    ``level`` (FEEDSVC_LOG_LEVEL: debug, info, warning, error) and above."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_feedsvc", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._feedsvc = True  # type: ignore[attr-defined]
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        if root.level == logging.WARNING:
            root.setLevel(logging.INFO)
    handler.setFormatter(make_formatter(fmt))
    # The level is the handler's: the loggers' levels stay as they are (a test's capture, or
    # a library's own), so only what reaches this process's output is filtered.
    threshold = logging.getLevelName(level.upper())
    handler.setLevel(threshold)
    if root.getEffectiveLevel() > threshold:
        root.setLevel(threshold)  # debug records must be made to be written
    for name in ("werkzeug", "granian", "granian.access", "apscheduler"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Requests are not logged one by one: werkzeug's line per request (make run) is off, and
    # FEEDSVC_ACCESS_LOG=on logs them through feedsvc.web.ops.AccessLog, in this format.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
