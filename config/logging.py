"""JSON log lines with request ids, and nothing from a patient in them.

Every record becomes one JSON object on one line: time, level, logger, message,
``request_id`` (from the X-Request-ID middleware, or the Celery task id in a worker).
Exceptions are written as their type and the stack's file/line/function only: the
exception message and frame locals can hold patient codes (a storage path, a database
constraint's DETAIL), so they never reach a log. Messages pass through :func:`redact`
as a second line of defence.
"""

import contextvars
import json
import logging
import re
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "RequestIdFilter", "redact", "request_id_var"]

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("cadence_request_id", default="-")

_PATTERNS = (
    # Stored recordings live under recordings/<patient code>/...
    (re.compile(r"recordings/[^/\s'\"]+/"), "recordings/[redacted]/"),
    # Bearer tokens and token-like query parameters.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(token|key|code|q|patient)=([^&\s]+)"), r"\1=[redacted]"),
    # PostgreSQL constraint details: Key (code)=(P-001) already exists.
    (re.compile(r"Key \(([^)]*)\)=\([^)]*\)"), r"Key (\1)=([redacted])"),
)


def redact(text: str) -> str:
    """Remove patient codes in storage paths, tokens, query values and constraint details."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request (or task) id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def _frames(exc: BaseException) -> list[str]:
    return [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(exc.__traceback__)]


def _message(record: logging.LogRecord) -> str:
    """The record's message; Celery's task-failure/retry lines get the exception's type, not its text."""
    args = record.args
    if isinstance(args, Mapping) and "exc" in args:
        exc = args["exc"]
        name = type(exc).__name__ if isinstance(exc, BaseException) else str(exc).split("(", 1)[0].split(":", 1)[0]
        record = logging.makeLogRecord({**record.__dict__, "args": {**args, "exc": name, "traceback": ""}})
    return record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object per line; exceptions as type and frames, never message or locals."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(_message(record)),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exc_type"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            entry["exc_frames"] = _frames(exc)
        return json.dumps(entry, default=str)
