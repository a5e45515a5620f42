"""The fleet check-in on the real updater: what the boot history tells the server.

Issue 20: "The boot attempt history (slot, version, outcome, reason) is kept on the
data partition and reported", and "An update never starts while an admission is in
progress or the outbox is mid-send".
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.config import Settings, parse_settings
from kiosk.errors import UpdateError
from kiosk.fleet.ports import BootOutcome
from kiosk.services.activity import SERVING_LOCK, Activity
from kiosk.update.history import BootHistory, BootRecord, Pending
from kiosk.wiring.fleet import RaucUpdater

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=PARTUUID=4b494f53-06 ro rauc.slot=B\n")
    monkeypatch.setenv("KIOSK_CMDLINE", str(cmdline))
    return parse_settings(
        {
            "paths": {"data_dir": str(tmp_path), "log_dir": str(tmp_path / "log")},
            "outbox": {"database": str(tmp_path / "outbox.sqlite3")},
        }
    )


def test_the_server_reads_each_judged_boot_and_the_one_still_on_trial(settings: Settings) -> None:
    history = BootHistory(settings.paths.data_dir / "update")
    history.record(BootRecord(T0.isoformat(), "B", "0.2.0", "good"))
    history.record(BootRecord(T0.isoformat(), "A", "0.3.0", "bad", "printer: out of paper"))
    history.record(BootRecord(T0.isoformat(), "A", "0.3.1", "fallback", "watchdog"))
    history.set_pending(Pending("B", "0.3.2", T0.isoformat()))

    state = RaucUpdater(settings, FrozenClock(T0), version="0.2.0").state()

    assert state.booted_slot == "B"
    assert [(r.version, r.outcome) for r in state.history] == [
        ("0.2.0", BootOutcome.GOOD),
        ("0.3.0", BootOutcome.ROLLED_BACK),
        ("0.3.1", BootOutcome.ROLLED_BACK),
        ("0.3.2", BootOutcome.TRYING),
    ]
    assert state.history[1].reason == "printer: out of paper"
    assert state.history[0].at == T0


def test_the_fleet_cannot_install_while_a_patient_is_served(
    settings: Settings, tmp_path: Path
) -> None:
    updater = RaucUpdater(settings, FrozenClock(T0), version="0.2.0")
    desk = Activity(settings.paths.data_dir / SERVING_LOCK)
    desk.set(True)
    try:
        assert updater.busy() == "admission"
        with pytest.raises(UpdateError) as refused:
            asyncio.run(updater.install(tmp_path / "kiosk-0.3.0.raucb"))
    finally:
        desk.set(False)
    assert "being admitted" in refused.value.message("en")
    assert updater.busy() is None
