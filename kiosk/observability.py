"""Structured, journald-friendly logging with redaction, and the outbox's Prometheus gauges.

Logging: one line per record, ``event key=value …``, no timestamp (journald stamps
each line) and, under systemd (``JOURNAL_STREAM`` set), the ``<N>`` priority prefix
journald reads from stdout/stderr (sd-daemon(3)). A filter on the handler rewrites
every record before it is formatted: NIR-shaped values are masked
(:func:`kiosk.domain.audit.mask_nirs`) and the values of keys naming a PIN, a
password or a secret are replaced by ``[redacted]`` — in the message, its arguments
and the structured extras alike — so no full NIR, PIN or password is ever written.

Metrics: ``kiosk_outbox_items{state}`` and ``kiosk_outbox_oldest_pending_age_seconds``,
updated from :class:`~kiosk.outbox.admin.OutboxStatus` by the sync worker; and the
establishment's indicators (:class:`IndicatorCollector`, ``kiosk metrics``), counted
from the verified audit chain: counters over the whole chain, which only grows, so they
never go down, plus today's documents beside the site's daily volume.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from kiosk.audit.report import Indicators, local_day
from kiosk.domain.audit import mask_nirs
from kiosk.outbox.admin import STATES, OutboxStatus

__all__ = [
    "IndicatorCollector",
    "OutboxMetrics",
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


class OutboxMetrics:
    """Gauges of the outbox depth per state and of the age of its oldest pending row."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.items = Gauge(
            "kiosk_outbox_items",
            "Outbox rows per state.",
            ["state"],
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "kiosk_outbox_oldest_pending_age_seconds",
            "Age of the oldest row not yet acknowledged (0 when none).",
            registry=self.registry,
        )

    def update(self, status: OutboxStatus) -> None:
        """Publish one status snapshot."""
        for state in STATES:
            self.items.labels(state=state).set(status.counts.get(state, 0))
        self.oldest_pending_age.set(status.oldest_pending_age_s or 0.0)

    def serve(self, port: int) -> None:
        """Expose the registry on 127.0.0.1:``port`` (a daemon thread of prometheus_client)."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)


_PER_AGENT = {
    "dmp_created": "DMPs created (acknowledged by the DMP), per agent.",
    "authorizations_given": "Authorizations given to this establishment on an existing DMP.",
    "authorizations_refused": "Authorizations refused by the patient.",
    "consents_refused": "Consents to creation refused.",
    "creations_deferred": "Creations queued while the DMP did not answer at once.",
}


class IndicatorCollector(Collector):
    """The indicators of a verified chain as Prometheus families, read at each collection."""

    def __init__(
        self,
        indicators: Indicators | None,
        *,
        today: date,
        zone: Any,
        daily_document_volume: int,
    ) -> None:
        self._indicators = indicators
        self._today = today
        self._zone = zone
        self._limit = daily_document_volume

    def collect(self) -> Iterator[Metric]:
        """``kiosk_audit_chain_ok`` always; the counters only when the chain verified."""
        yield GaugeMetricFamily(
            "kiosk_audit_chain_ok",
            "1 when the audit chain verified and the indicators were counted, else 0.",
            value=0 if self._indicators is None else 1,
        )
        if self._indicators is None:
            return
        by_agent = self._indicators.by_agent()
        for name, text in _PER_AGENT.items():
            family = CounterMetricFamily(f"kiosk_{name}", text, labels=["agent"])
            for agent, cell in sorted(by_agent.items()):
                family.add_metric([agent], cell.counts[name])
            yield family
        total = self._indicators.totals()
        yield SummaryMetricFamily(
            "kiosk_creation_deferral_seconds",
            "Deferred creations acknowledged: seconds from enqueue to acknowledgement.",
            count_value=len(total.delays_s),
            sum_value=sum(total.delays_s),
        )
        documents = CounterMetricFamily(
            "kiosk_documents_sent", "Documents acknowledged by the DMP, per type.", labels=["type"]
        )
        for doc_type, count in sorted(total.documents.items()):
            documents.add_metric([doc_type], count)
        yield documents
        dead = CounterMetricFamily(
            "kiosk_dead_letters", "Outbox rows gone to dead letters, per kind.", labels=["kind"]
        )
        for kind, count in sorted(total.dead_letters.items()):
            dead.add_metric([kind], count)
        yield dead
        today = sum(
            1
            for f in self._indicators.facts
            if f.counter == "documents_sent" and local_day(f.at, self._zone) == self._today
        )
        yield GaugeMetricFamily(
            "kiosk_documents_sent_today",
            "Documents acknowledged today (the site's local day).",
            value=today,
        )
        yield GaugeMetricFamily(
            "kiosk_daily_document_volume",
            "The site's daily document volume (site.daily_document_volume).",
            value=self._limit,
        )
        yield GaugeMetricFamily(
            "kiosk_audit_events",
            "Events in the verified audit chain.",
            value=self._indicators.events,
        )
