"""``kiosk records show`` on a real records file: masked by default, clear errors otherwise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.commands.context import CliContext
from kiosk.commands.records import records
from kiosk.domain.ins import Identity, IdentityStatus, Ins, InsEnvironment, StrictTraits
from kiosk.errors import NotFound
from kiosk.records import RecordStore
from kiosk.records.record import IdentityRecord, KnownDmp, Source

PATIENT = Ins.of("277076322082910", "1.2.250.1.213.1.4.10")
TRAITS = StrictTraits.create("TESTEUR", "ALICE MARIE", date(1977, 7, 6), "F", "63220")
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture
async def context(tmp_path: Path) -> CliContext:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path}"\n')
    store = await RecordStore.open(tmp_path / "identity.sqlite3", InsEnvironment.TEST)
    qualified = Identity(PATIENT, TRAITS, IdentityStatus.QUAL)
    await store.save(IdentityRecord(qualified, frozenset(Source), (), T0, T0, "IPP-000777"))
    recovered = Identity(PATIENT, TRAITS, IdentityStatus.RECUP)
    later = T0 + timedelta(days=3)
    await store.save(
        IdentityRecord(recovered, frozenset({Source.VITALE, Source.INSI}), (), later, later)
    )
    await store.remember(PATIENT, KnownDmp(exists=True, authorized=True))
    await store.close()
    return CliContext(config_path=config, lang="en")


def test_show_masks_the_nir_and_says_which_status_is_current(context: CliContext) -> None:
    result = CliRunner().invoke(records, ["show", "277076322082910"], obj=context)
    assert result.exit_code == 0, result.output
    assert "277076322082910" not in result.output
    assert "IPP-000777" not in result.output
    assert "TESTEUR" not in result.output
    assert "QUAL" in result.output.splitlines()[0]
    recovered = [line for line in result.output.splitlines() if " RECUP " in line]
    assert len(recovered) == 1
    assert recovered[0].endswith("(lower: not applied)")


def test_show_json_with_show_reveals_nir_and_ipp(context: CliContext) -> None:
    result = CliRunner().invoke(
        records, ["show", "277076322082910", "--show", "--json"], obj=context
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # a log line may go to stderr
    assert data["ins"] == "277076322082910"
    assert data["ipp"] == "IPP-000777"
    assert data["status"] == "QUAL"
    assert data["dmp"] == {"exists": True, "authorized": True}
    assert [o["applied"] for o in data["observations"]] == [True, False]


def test_an_unknown_patient_or_file_is_not_found(context: CliContext, tmp_path: Path) -> None:
    unknown = CliRunner().invoke(records, ["show", "253072B07300470"], obj=context)
    assert isinstance(unknown.exception, NotFound)
    missing = tmp_path / "none.sqlite3"
    absent = CliRunner().invoke(
        records, ["show", "253072B07300470", "--db", str(missing)], obj=context
    )
    assert isinstance(absent.exception, NotFound)
    assert not missing.exists()  # reading never creates the file
