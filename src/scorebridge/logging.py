"""Structured logging to stderr with secret redaction.

Owns: :func:`configure_logging` (plain ``key=value`` lines or JSON lines on stderr) and the
filter that passes every record and formatted traceback through
:func:`scorebridge.redaction.redact`.
Must not: print anything itself, read configuration files, or log request/response bodies.

Callers add structure with ``extra``: ``log.info("page stored", extra={"stream": "contacts",
"rows": 200})`` renders as ``... msg="page stored" stream=contacts rows=200``.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from scorebridge.redaction import redact, register_secret

_level_override: str | None = None

# LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def override_level(level: str | None) -> None:
    """Make every later :func:`configure_logging` use ``level`` instead of the configured one
    (the command line's ``-v`` / ``-q``); ``None`` removes the override."""
    global _level_override
    _level_override = level


class RedactingFilter(logging.Filter):
    """Rewrites each record so that its message, arguments, string extras and traceback are
    redacted (the formatters redact their whole output once more, for non-string extras)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops a record."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=info logger=scorebridge.pull msg="..." key=value ...`` lines."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record (plus its traceback, indented, if any)."""
        fields: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        line = " ".join(f"{k}={_kv_value(v)}" for k, v in fields.items())
        trace = record.exc_text or (
            self.formatException(record.exc_info) if record.exc_info else ""
        )
        if trace:
            line += "\n" + "\n".join("  " + t for t in trace.splitlines())
        return redact(line)


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' ="\n\t'):
        return json.dumps(text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a JSON line."""
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        trace = record.exc_text or (
            self.formatException(record.exc_info) if record.exc_info else ""
        )
        if trace:
            doc["exc"] = trace
        return redact(json.dumps(doc, default=str))


def _redacting_excepthook(
    kind: type[BaseException], value: BaseException, trace: TracebackType | None
) -> None:
    """``sys.excepthook``: an uncaught exception's traceback, redacted, on stderr."""
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, trace))))


def configure_logging(
    level: str | int = "INFO",
    json: bool = False,
    secrets: Iterable[str | None] = (),
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send scorebridge's (and its libraries') logs to stderr, redacted, one record per line.

    Replaces any handler a previous call installed on the root logger, so calling it twice (the
    CLI after reading the config) is safe. Also makes uncaught exceptions print redacted
    tracebacks (``sys.excepthook``). Returns the installed handler.
    """
    for secret in secrets:
        register_secret(secret)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else KeyValueFormatter())
    handler.addFilter(RedactingFilter())
    handler.set_name("scorebridge")
    sys.excepthook = _redacting_excepthook
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "scorebridge"]:
        root.removeHandler(old)
    root.addHandler(handler)
    level = _level_override or level
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for noisy in ("urllib3", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
