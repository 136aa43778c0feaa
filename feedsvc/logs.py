"""Logging: one line per event, plain text or JSON (FEEDSVC_LOG_FORMAT). Query strings are
redacted wherever a URL is logged, so a token sent in one never reaches a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

QUERY_RE = re.compile(r"(\?)[^\s\"']*")
BEARER_RE = re.compile(r"(?i)(bearer\s+)[^\s\"']+")


def redact(text: str) -> str:
    """Drop query strings and bearer credentials from a log message."""
    return BEARER_RE.sub(r"\1[redacted]", QUERY_RE.sub(r"\1[redacted]", text))


class RedactingFilter(logging.Filter):
    """Applies :func:`redact` to every record, whoever logged it (werkzeug, granian, us)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(fmt: str) -> None:
    """Install one handler on the root logger (once per process)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_feedsvc", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._feedsvc = True  # type: ignore[attr-defined]
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        if root.level == logging.WARNING:
            root.setLevel(logging.INFO)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("werkzeug", "granian", "granian.access", "apscheduler"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
