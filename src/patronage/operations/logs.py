"""Structured logs: one JSON object a line on standard error, with the time, level, logger,
message, the request id of the request being served (if any) and the fields given as ``extra``."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The id of the request being served in this context (empty outside a request).
request_id: ContextVar[str] = ContextVar("request_id", default="")

_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: The attributes every log record has: the rest came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                       "taskName"}


def accept_request_id(header: str | None) -> str:
    """The request id from an ``X-Request-ID`` header when it is a plain token of at most 128
    characters (letters, digits, ``._:-``); otherwise a new one."""
    if header and _ACCEPTED_ID.match(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = request_id.get()
        return f"{line} [{rid}]" if rid else line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send the ``patronage`` and ``uvicorn`` logs to standard error in ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    # Their children (uvicorn.error, patronage.access...) reach the handler by propagation; the
    # root logger is left alone (it has no handler in a server, so nothing is written twice).
    for name in ("patronage", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
