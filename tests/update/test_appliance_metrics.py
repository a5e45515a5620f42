"""The Prometheus endpoint's view of the appliance (issue 20: "outbox, sync, card events,
printer, selftest, version/slot, last fleet contact")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.utils import floatToGoString

from kiosk.domain.health import Check, HealthReport, Level
from kiosk.metrics import ApplianceCollector
from kiosk.update.history import BootHistory, BootRecord

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _scrape(data: Path) -> str:
    registry = CollectorRegistry()
    registry.register(ApplianceCollector(data, version="0.2.0", booted=lambda: "B"))
    return generate_latest(registry).decode()


def test_the_last_self_test_boots_and_fleet_contact_are_scraped(tmp_path: Path) -> None:
    report = HealthReport(
        T0,
        (
            Check("readers", Level.OK, "", data={"slots": [{"atr": "3B 75"}, {"atr": ""}]}),
            Check("printer", Level.FAIL, "out of paper"),
            Check("clock", Level.WARN, "61 s"),
        ),
    )
    (tmp_path / "selftest").mkdir()
    (tmp_path / "selftest" / "last.json").write_text(json.dumps(report.as_dict()))
    history = BootHistory(tmp_path / "update")
    history.record(BootRecord(T0.isoformat(), "B", "0.2.0", "good"))
    history.record(BootRecord(T0.isoformat(), "A", "0.3.0", "bad", "printer"))
    (tmp_path / "fleet").mkdir()
    (tmp_path / "fleet" / "last.json").write_text(
        json.dumps({"at": T0.isoformat(), "result": "ok", "step": "idle"})
    )

    text = _scrape(tmp_path)

    assert 'kiosk_info{slot="B",version="0.2.0"} 1.0' in text
    assert 'kiosk_selftest_level{check="printer"} 2.0' in text
    assert 'kiosk_selftest_level{check="clock"} 1.0' in text
    assert "kiosk_reader_slots 2.0" in text
    assert "kiosk_cards_present 1.0" in text
    stamp = floatToGoString(T0.timestamp())
    assert f"kiosk_selftest_timestamp_seconds {stamp}" in text
    assert 'kiosk_update_boots_total{outcome="good"} 1.0' in text
    assert 'kiosk_update_boots_total{outcome="bad"} 1.0' in text
    assert f'kiosk_fleet_last_check_in_timestamp_seconds{{result="ok"}} {stamp}' in text


def test_a_fresh_kiosk_scrapes_without_its_files(tmp_path: Path) -> None:
    text = _scrape(tmp_path)
    assert 'kiosk_info{slot="B",version="0.2.0"} 1.0' in text
    assert "kiosk_selftest_level{" not in text
    assert 'kiosk_update_boots_total{outcome="fallback"} 0.0' in text
