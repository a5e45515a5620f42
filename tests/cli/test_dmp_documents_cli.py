"""``kiosk dmp submit|documents|visibility|delete|misfiled`` against the desk's simulated world.

The patient was admitted at the desk (identity qualified, DMP created); the commands
then run as a second terminal would, on the same files and the world's DMP over its
socket, in indirect mode for the agent ``--agent`` names.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.command_line import RunMain, kiosk_main
from tests.desk import (
    desk_services,
    dmp_record,
    logged_in,
    patient_with_a_dmp,
    sim_world,
)

__all__ = ["desk_services", "kiosk_main", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _in_thread(kiosk: RunMain) -> Callable[..., Awaitable[tuple[int, str, str]]]:
    """The CLI in a thread: it runs its own event loop, as in a second terminal."""

    async def run(*args: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(kiosk, *args)

    return run


async def _admitted(services: Services, where: Path) -> str:
    """The adult admitted at the desk (DMP created); the site file the commands then read."""
    events = services.card_monitor.events()
    await logged_in(services, events)
    await patient_with_a_dmp(services, events)
    return _config(services, where)


def _config(services: Services, where: Path) -> str:
    """A site file naming the desk's files, as the appliance's would."""
    paths = services.settings.paths
    outbox = services.settings.outbox
    where.write_text(
        f'[paths]\ndata_dir = "{paths.data_dir}"\nlog_dir = "{paths.log_dir}"\n'
        f'[outbox]\ndatabase = "{outbox.database}"\ndevice_key = "{outbox.device_key}"\n'
    )
    return str(where)


async def test_a_document_is_sent_listed_held_released_and_deleted_from_the_command_line(
    desk_services: Services, kiosk_main: RunMain, tmp_path: Path
) -> None:
    services = desk_services
    config = await _admitted(services, tmp_path / "kiosk.toml")
    pdf = tmp_path / "lettre.pdf"
    pdf.write_bytes(PDF)
    run = _in_thread(kiosk_main)
    base = ("--config", config, "dmp")
    nir = ("--nir", ADULT_NIR)

    submit = ("submit", str(pdf), *nir, "--type", "discharge_summary", "--hide", "patient")
    code, out, err = await run(*base, *submit, "--agent", "3750100000/0000042", "--json")
    assert (code, err) == (0, "")
    sent = json.loads(out)
    assert sent["delivery"] == "done"

    code, out, _ = await run(*base, "documents", *nir, "--json")
    assert code == 0
    (listed,) = json.loads(out)
    assert (listed["unique_id"], listed["type_code"]) == (sent["unique_id"], "11490-0")
    assert listed["hidden_from"] == ["patient"]

    document = ("--document", sent["unique_id"], "--agent", "3750100000/0000042")  # its author
    code, out, _ = await run(*base, "visibility", *nir, *document, "--json")  # released
    assert (code, json.loads(out)["delivery"]) == (0, "done")
    stranger = ("--document", sent["unique_id"], "--agent", "3750100000/0000099")
    code, out, err = await run(*base, "delete", *nir, *stranger)  # seed 000: its author only
    assert code == 3
    assert "dead" in out
    code, out, _ = await run(*base, "documents", *nir, "--json")
    assert len(json.loads(out)) == 1  # still there, here as in the DMP
    code, out, _ = await run(*base, "delete", *nir, *document, "--json")
    assert (code, json.loads(out)["delivery"]) == (0, "done")
    (stored,) = (await dmp_record(services, ADULT_NIR))["documents"]
    assert stored["status"] == "Deleted"

    code, out, _ = await run(*base, "documents", *nir)
    assert (code, out.strip()) == (0, "Aucun document envoyé par l'établissement pour ce patient.")
    code, _, err = await run(*base, "delete", *nir, *document)
    assert code == 2
    assert sent["unique_id"] in err


async def test_bad_input_is_refused_with_its_exit_code_and_nothing_is_sent(
    desk_services: Services, kiosk_main: RunMain, tmp_path: Path
) -> None:
    services = desk_services
    config = await _admitted(services, tmp_path / "kiosk.toml")
    image = tmp_path / "photo.pdf"
    image.write_bytes(b"\x89PNG\r\n\x1a\n not a pdf")
    run = _in_thread(kiosk_main)
    base = ("--config", config, "dmp", "submit")

    code, _, err = await run(*base, str(image), "--nir", ADULT_NIR, "--type", "hospital_report")
    assert code == 1
    assert "pas un PDF" in err
    code, _, err = await run(*base, str(image), "--nir", ADULT_NIR, "--type", "selfie")
    assert code == 1
    assert "selfie" in err
    code, _, err = await run(
        *base, str(image), "--nir", "180057505612343", "--type", "hospital_report"
    )
    assert code == 1  # a NIR whose key is wrong
    assert (await dmp_record(services, ADULT_NIR))["documents"] == []
