"""Logs: one JSON object a line (or plain text for people), naming the case and instruction
a line is about, with no personal data.

Work about one case or instruction binds it once (`bind(case_no=..., instruction_id=...)`),
and every line logged after that in the same context carries it: a task's thread, a
request's thread. `extra={...}` on one call adds fields to that line alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

LogFormat = Literal["json", "text"]

# What a line may be about, in the order they are written.
CONTEXT_FIELDS = ("case_no", "instruction_id", "institution")

_context: ContextVar[dict[str, Any] | None] = ContextVar("stopay_log_context", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra` (but for
# uvicorn's `color_message`, the same message with terminal colour codes).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

# A run of 11 to 19 digits (an ID number may end in X) not part of a longer word: a phone,
# ID or card number. No message should hold one; this is the net under that rule (an
# exception's text may quote a value). The last four stay, as on a receipt. (Not \w: a
# Chinese character is a word character, and "电话13800138000" must be caught too.)
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z_.])[0-9]{7,15}([0-9]{3}[0-9Xx])(?![0-9A-Za-z_])")


# PostgreSQL's DETAIL of a constraint violation quotes the row or key: "Failing row contains
# (…, 陈女士, …)". The error's first line names the constraint, which is what a reader needs.
_DB_DETAIL = re.compile(r"^(\s*DETAIL:\s*).+$", re.MULTILINE)


def redact(text: str) -> str:
    text = _DB_DETAIL.sub(r"\1(hidden: it may quote personal data)", text)
    return _LONG_NUMBER.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(1), text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def bind(**fields: Any) -> None:
    """Name what the rest of this context's lines are about (a task, a request's thread)."""
    _context.set({**(_context.get() or {}), **fields})


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Name what the lines logged inside the block are about."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def clear() -> None:
    _context.set(None)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context's fields, then the call's `extra`, which wins."""
    fields = dict(_context.get() or {})
    fields.update((k, _redacted(v)) for k, v in vars(record).items() if k not in _STANDARD)
    return fields


def _access(record: logging.LogRecord) -> tuple[str, dict[str, Any]] | None:
    """uvicorn's access line without the query string (a search may carry a card number)."""
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple):
        return None
    if len(record.args) != 5:
        return None
    client, method, path, _version, status = record.args
    path = str(path).split("?", 1)[0]
    fields = {"method": method, "path": path, "status": status, "client": client}
    return f"{method} {path} {status}", fields


def _utc(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, role, message, context, exc."""

    def __init__(self, role: str = "app") -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        access = _access(record)
        message, fields = access or (record.getMessage(), {})
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "role": self.role,
            "pid": record.process,
            "message": redact(message),
        }
        line.update(fields)
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the same fields, one readable line."""

    def __init__(self, role: str = "app") -> None:
        super().__init__("%(asctime)s %(levelname)-7s " + role + " %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        access = _access(record)
        if access is not None:
            record = logging.makeLogRecord({**vars(record), "msg": access[0], "args": None})
        text = redact(super().format(record))
        about = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        if not about:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{about}]{newline}{rest}"


def logging_config(role: str, fmt: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for this process: everything to stderr, through one formatter.

    Given to uvicorn as `log_config`, so its access and error lines come out the same way.
    """
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    quiet = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"stopay": {"()": f"{__name__}.{formatter.__name__}", "role": role}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "stopay",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own loggers would otherwise keep the handlers of its default config.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": level, "handlers": [], "propagate": True},
            # One line per institution call would drown the worker's log, and one per task
            # beat sends (several a second) beat's.
            "httpx": quiet,
            "httpcore": quiet,
            "celery.beat": quiet,
        },
    }


def configure_logging(role: str, fmt: LogFormat, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(role, fmt, level))
    # A library's warning (Celery's about running as root) becomes a line like the others.
    logging.captureWarnings(True)
