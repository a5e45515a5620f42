"""The kiosk's Prometheus metrics: the outbox's gauges and the establishment's indicators.

``kiosk_outbox_items{state}`` and ``kiosk_outbox_oldest_pending_age_seconds``,
updated from :class:`~kiosk.outbox.admin.OutboxStatus` by the sync worker; and the
establishment's indicators (:class:`IndicatorCollector`, ``kiosk metrics``), counted
from the verified audit chain: counters over the whole chain, which only grows, so they
never go down, plus today's documents beside the site's daily volume.

Apart from the logging (:mod:`kiosk.observability`) so that a desk, which serves no
metrics, never loads prometheus_client (~2.4 MiB).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from kiosk.audit.report import Indicators, local_day
from kiosk.cards.tally import TALLY_FILE, CardTally
from kiosk.outbox.admin import STATES, OutboxStatus
from kiosk.update.history import BootHistory

__all__ = ["ApplianceCollector", "IndicatorCollector", "OutboxMetrics"]


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


_LEVELS = {"ok": 0, "warn": 1, "fail": 2}


def _json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


class ApplianceCollector(Collector):
    """The kiosk as IT watches it, read from the data partition at each scrape.

    What runs (``kiosk_info``), the last self-test (``kiosk_selftest_level{check}``,
    0 ok / 1 warn / 2 fail, the readers and cards it saw), the card events the app
    counted (``kiosk_card_events_total{event}``), the judged boots of updates
    (``kiosk_update_boots{outcome}``) and the last answer of the fleet server. Files,
    not the processes that write them: the self-test timer, the judge, the fleet
    check-in and the app are other processes. Nothing personal in any of them.
    """

    def __init__(self, data_dir: Path, *, version: str, booted: Callable[[], str | None]) -> None:
        self._data = data_dir
        self._version = version
        self._booted = booted

    def collect(self) -> Iterator[Metric]:
        """The families; a missing or torn file leaves its family empty."""
        info = GaugeMetricFamily(
            "kiosk_info", "The software running and its slot.", labels=["version", "slot"]
        )
        info.add_metric([self._version, self._booted() or ""], 1)
        yield info
        report = _json(self._data / "selftest" / "last.json")
        levels = GaugeMetricFamily(
            "kiosk_selftest_level",
            "Last self-test, per check: 0 ok, 1 warn, 2 fail.",
            labels=["check"],
        )
        readers = GaugeMetricFamily("kiosk_reader_slots", "Reader slots the last self-test saw.")
        cards = GaugeMetricFamily(
            "kiosk_cards_present", "Cards in the readers at the last self-test."
        )
        for check in report.get("checks", []):
            if isinstance(check, dict) and check.get("level") in _LEVELS:
                levels.add_metric([str(check.get("name"))], _LEVELS[check["level"]])
                slots = (
                    (check.get("data") or {}).get("slots")
                    if check.get("name") == "readers"
                    else None
                )
                if isinstance(slots, list):
                    readers.add_metric([], len(slots))
                    cards.add_metric([], sum(1 for slot in slots if slot.get("atr")))
        yield levels
        yield readers
        yield cards
        events = CounterMetricFamily(
            "kiosk_card_events",
            "Card and reader events the app has seen: inserted.<vitale|cps|unknown>, removed,"
            " reader.added, reader.removed.",
            labels=["event"],
        )
        for event, count in sorted(CardTally.read(self._data / TALLY_FILE).items()):
            events.add_metric([event], count)
        yield events
        at = report.get("at")
        stamp = GaugeMetricFamily(
            "kiosk_selftest_timestamp_seconds", "Unix time of the last self-test."
        )
        if isinstance(at, str):
            stamp.add_metric([], datetime.fromisoformat(at).timestamp())
        yield stamp
        boots = CounterMetricFamily(
            "kiosk_update_boots",
            "Judged boots of new slots: good, bad (self-test failed), fallback (never got there).",
            labels=["outcome"],
        )
        counts: dict[str, int] = {"good": 0, "bad": 0, "fallback": 0}
        for record in BootHistory(self._data / "update").records(limit=10_000):
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
        for outcome, count in sorted(counts.items()):
            boots.add_metric([outcome], count)
        yield boots
        last = _json(self._data / "fleet" / "last.json")
        fleet = GaugeMetricFamily(
            "kiosk_fleet_last_check_in_timestamp_seconds",
            "Unix time of the last check-in with the fleet server, by its result.",
            labels=["result"],
        )
        if isinstance(last.get("at"), str):
            fleet.add_metric(
                [str(last.get("result"))], datetime.fromisoformat(last["at"]).timestamp()
            )
        yield fleet
