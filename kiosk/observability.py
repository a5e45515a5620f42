"""Structured, journald-friendly logging with redaction (the metrics: :mod:`kiosk.metrics`).

Logging: one line per record, ``event key=value …``, no timestamp (journald stamps
each line) and, under systemd (``JOURNAL_STREAM`` set), the ``<N>`` priority prefix
journald reads from stdout/stderr (sd-daemon(3)). A filter on the handler rewrites
every record before it is formatted: NIR-shaped values are masked
(:func:`kiosk.domain.audit.mask_nirs`) and the values of keys naming a PIN, a
password or a secret are replaced by ``[redacted]`` — in the message, its arguments
and the structured extras alike — so no full NIR, PIN or password is ever written.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, TextIO

from kiosk.domain.audit import mask_nirs

__all__ = [
    "RedactingFilter",
    "StructuredFormatter",
    "configure_logging",
    "redact",
]

_SECRET_KEY = re.compile(r"pin|password|passwd|mot_?de_?passe|secret|token", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"(?i)\b(pin|code_?pin|password|passwd|mot[ _]de[ _]passe|secret)(\s*[=:]\s*)(\S+)"
)
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def redact(text: str) -> str:
    """Mask NIRs and the values of ``pin=…``/``password: …`` pairs in free text."""
    return _SECRET_PAIR.sub(lambda m: m.group(1) + m.group(2) + "[redacted]", mask_nirs(text))


def _clean(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites each record so that nothing secret reaches any handler's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        for key in list(vars(record)):
            if key not in _STANDARD:
                setattr(record, key, _clean(key, getattr(record, key)))
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text may quote input; keep the type, redact the text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class StructuredFormatter(logging.Formatter):
    """``<prio>logger: event key=value …``, one line, values quoted when they hold spaces."""

    def __init__(self, *, journald: bool) -> None:
        super().__init__()
        self._journald = journald

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        fields = " ".join(f"{k}={_quote(v)}" for k, v in sorted(extras.items()))
        line = f"{record.levelname.lower()} {record.name}: {record.getMessage()}"
        if fields:
            line += " " + fields
        if record.exc_text:
            line += " exc=" + _quote(record.exc_text.replace("\n", " | "))
        if self._journald:
            line = f"<{_PRIORITY.get(record.levelno, 6)}>" + line
        return line


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in "\"'=" for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Install one redacting, structured handler on the root logger; return it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(StructuredFormatter(journald="JOURNAL_STREAM" in os.environ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
