"""``kiosk sim dmp show INS`` against a simulated DMP served on a real socket."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from kiosk.cli import root
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, ExistenceQuery
from kiosk.dmp.vihf import EmergencyAccess, PurposeOfUse
from kiosk.errors import KioskError
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, sample_submission, served, submit

EMERGENCY = EmergencyAccess(
    "Patient inconscient aux urgences", "TESTEUR", "ALICE", date(1977, 7, 6)
)


async def _kiosk(*args: str) -> tuple[int, str]:
    # The CLI blocks: run it off the loop that serves the simulator.
    result = await asyncio.to_thread(CliRunner().invoke, root, ["--lang", "en", *args])
    if isinstance(result.exception, KioskError):  # kiosk.cli.main maps these to exit codes
        return result.exception.exit_code, result.exception.message("en")
    return result.exit_code, result.stdout  # a log line may go to stderr


async def _fill(desk: Desk) -> None:
    consent = ConsentStatement(
        desk.clock.now(), creation=True, establishment_access=True, regulation_centre_access=False
    )
    await desk.send(CreationRequest(PATIENT, TRAITS, consent))
    assert (await submit(desk, sample_submission()))[0]
    await desk.send(ExistenceQuery(PATIENT), purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY)


async def test_show_gives_consent_documents_and_traces_with_the_nir_masked(desk: Desk) -> None:
    await _fill(desk)
    async with served(desk.sim) as url:
        code, out = await _kiosk("sim", "dmp", "show", "277076322082910", "--url", url, "--json")
    assert code == 0, out
    state = json.loads(out)
    assert state["ins"] == PATIENT.matricule.masked()
    assert "277076322082910" not in out
    assert state["status"] == "ACTIF"
    assert state["consent"]["regulation_centre_access"] is False
    assert [d["type_code"] for d in state["documents"]] == ["11490-0"]
    assert [t["transaction"] for t in state["traces"]] == ["TD1.1", "TD2.1", "TD0.2"]
    assert state["traces"][-1]["justification"] == EMERGENCY.justification


async def test_show_finds_the_running_world_and_reveals_the_nir_on_request(
    desk: Desk, tmp_path: Path
) -> None:
    await _fill(desk)
    async with served(desk.sim) as url:
        world = {"pid": os.getpid(), "facts": {"dmp_url": url.rstrip("/")}}
        (tmp_path / "world.json").write_text(json.dumps(world))
        args = ("sim", "dmp", "show", "277076322082910", "--state-dir", str(tmp_path), "--show")
        code, out = await _kiosk(*args)
    assert code == 0, out
    assert "277076322082910" in out
    assert "brisDeGlace « Patient inconscient aux urgences »" in out
    assert "regulation_centre_access=non" in out


async def test_unknown_patient_invalid_nir_and_no_world(desk: Desk, tmp_path: Path) -> None:
    async with served(desk.sim) as url:
        assert (await _kiosk("sim", "dmp", "show", "253072B07300470", "--url", url))[0] == 2
        code, message = await _kiosk("sim", "dmp", "show", "253072B07300471", "--url", url)
        assert code == 1, message
    code, message = await _kiosk(
        "sim", "dmp", "show", "253072B07300470", "--state-dir", str(tmp_path)
    )
    assert (code, "kiosk demo" in message) == (2, True)
