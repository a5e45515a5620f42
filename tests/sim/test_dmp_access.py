"""Habilitations, emergency access and the DMP's life cycle in the simulated DMP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from kiosk.clock import FrozenClock
from kiosk.dmp.transactions import (
    ClosureRequest,
    ConsentStatement,
    CreationRequest,
    ExistenceQuery,
    ReactivationRequest,
    Request,
    WebAccountRequest,
    read_existence_response,
    read_transaction_response,
)
from kiosk.dmp.vihf import EmergencyAccess, PurposeOfUse
from kiosk.dmp.vocabulary import XDS
from kiosk.dmp.xds import build_submission, read_registry_response
from kiosk.domain.habilitation import HabilitationTable
from kiosk.errors import SoapFault
from kiosk.signing import Signer
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import IssuedBy
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, sample_submission, served, submit

EMERGENCY = EmergencyAccess(
    "Patient inconscient aux urgences", "Testeur", "ALICE", date(1977, 7, 6)
)
WRONG_PERSON = EmergencyAccess("Patient inconscient", "TESTEUR", "ALICE", date(1977, 7, 7))
# A site table that also lets doctors close a DMP (the shipped table lets nobody).
CLOSING_SITE = HabilitationTable.from_mapping(
    {
        "rule": [
            {
                "professions": ["10"],
                "roles": ["*"],
                "modes": ["direct"],
                "actions": ["TD0.2", "TD1.1", "TD1.2", "TD1.4", "TD1.5", "TD2.1"],
            }
        ]
    }
)


def _consent(*, emergency: bool = True, regulation: bool = True) -> ConsentStatement:
    return ConsentStatement(
        FrozenClock().now(),
        creation=True,
        establishment_access=True,
        emergency_access=emergency,
        regulation_centre_access=regulation,
    )


async def _code(desk: Desk, request: Request, *, signer: Signer | None = None) -> str:
    answer = read_transaction_response((await desk.send(request, signer=signer)).payload)
    return answer.ack.code or "AA"


# -- habilitations -------------------------------------------------------------


async def test_a_nurse_may_create_but_not_reactivate(desk: Desk) -> None:
    nurse = desk.pki.signer_for("nurse")
    assert await _code(desk, CreationRequest(PATIENT, TRAITS, _consent()), signer=nurse) == "AA"
    with pytest.raises(SoapFault) as caught:
        await desk.send(ReactivationRequest(PATIENT), signer=nurse)
    assert caught.value.fault_code == "dmp:HabilitationInsuffisante"
    assert "réactivation du DMP (TD1.2)" in caught.value.message("fr")
    assert desk.sim.show(PATIENT.matricule.value)["status"] == "ACTIF"
    # The refused attempt is a call on the record too: the patient sees it.
    traces = desk.sim.traces(PATIENT.matricule.value)
    assert [(t.transaction, t.outcome) for t in traces] == [
        ("TD1.1", "AA"),
        ("TD1.2", "refused:dmp:HabilitationInsuffisante"),
    ]


async def test_admission_staff_create_and_feed_with_a_cpe_or_the_establishment(
    desk: Desk,
) -> None:
    agent, establishment = desk.pki.signer_for("agent"), desk.pki.signer_for("establishment")
    assert await _code(desk, CreationRequest(PATIENT, TRAITS, _consent()), signer=agent) == "AA"
    envelope = desk.wrap(
        build_submission(sample_submission()), XDS["action"], PATIENT, signer=establishment
    )
    answer = await desk.soap.call(envelope, action=XDS["action"])
    assert read_registry_response(answer.payload) == (True, ())
    (document,) = desk.sim.documents.documents_for(PATIENT.matricule.value)
    modes = [t.mode for t in desk.sim.traces(PATIENT.matricule.value)]
    assert modes == ["DIRECTE", "INDIRECTE"]
    assert document.authors == ("899900000001",)


async def test_the_desk_closes_a_dmp_at_the_patients_request_under_the_shipped_table(
    desk: Desk,
) -> None:
    # Seed 001: « Maître de son dossier, il décide de sa création et de sa fermeture »;
    # the desk carries out the patient's decision (issue 17, item 8), the patient present.
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    await desk.send(
        ClosureRequest(PATIENT, "demande du patient"), signer=desk.pki.signer_for("agent")
    )
    assert desk.sim.show(PATIENT.matricule.value)["status"] == "FERME"


# -- closure and reactivation ----------------------------------------------------


@pytest.fixture
async def site_desk(pki: TestPki, tmp_path: Path) -> AsyncIterator[Desk]:
    clock = FrozenClock()
    sim = DmpSimulator(
        IssuedBy((pki.ca_certificate,), clock.now),
        tmp_path / "site.sqlite3",
        clock=clock,
        habilitations=CLOSING_SITE,
    )
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dmp.test") as http:
        yield Desk(sim, SoapClient(http, "http://dmp.test/", "DMP", timeout_s=60), pki, clock)
    sim.close()


async def test_closure_then_reactivation(site_desk: Desk) -> None:
    desk, matricule = site_desk, PATIENT.matricule.value
    assert await _code(desk, ClosureRequest(PATIENT, "décès")) == "DMP_INEXISTANT"
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    assert await _code(desk, ReactivationRequest(PATIENT)) == "DMP_NON_FERME"
    assert await _code(desk, ClosureRequest(PATIENT, "  ")) == "MOTIF_ABSENT"
    assert await _code(desk, ClosureRequest(PATIENT, "demande du patient")) == "AA"
    assert desk.sim.show(matricule)["status"] == "FERME"

    # A closed DMP is still the patient's one DMP: not created again, not fed, no account.
    assert await _code(desk, CreationRequest(PATIENT, TRAITS, _consent())) == "DMP_EXISTANT"
    web = WebAccountRequest(PATIENT, email="alice@example.org")
    assert await _code(desk, web) == "DMP_FERME"
    ok, errors = await submit(desk, sample_submission())
    assert (ok, errors[0][1]) == (False, "the DMP is closed")
    assert await _code(desk, ClosureRequest(PATIENT, "encore")) == "DMP_FERME"

    assert await _code(desk, ReactivationRequest(PATIENT)) == "AA"
    assert desk.sim.show(matricule)["status"] == "ACTIF"
    assert await _code(desk, web) == "AA"
    assert desk.sim.dmp_count() == 1


async def test_closure_survives_a_restart(site_desk: Desk, pki: TestPki, tmp_path: Path) -> None:
    await site_desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    await site_desk.send(ClosureRequest(PATIENT, "demande du patient"))
    again = DmpSimulator(
        IssuedBy((pki.ca_certificate,), site_desk.clock.now), tmp_path / "site.sqlite3"
    )
    try:
        assert again.show(PATIENT.matricule.value)["status"] == "FERME"
    finally:
        again.close()


# -- emergency access ------------------------------------------------------------


async def test_break_the_glass_is_honoured_and_traced_with_its_justification(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    answer = await desk.send(
        ExistenceQuery(PATIENT), purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY
    )
    assert read_existence_response(answer.payload).exists
    last = desk.sim.traces(PATIENT.matricule.value)[-1]
    assert (last.purpose, last.justification) == ("brisDeGlace", EMERGENCY.justification)


async def test_break_the_glass_refused_by_the_patient(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent(emergency=False)))
    with pytest.raises(SoapFault) as caught:
        await desk.send(
            ExistenceQuery(PATIENT), purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY
        )
    assert caught.value.fault_code == "dmp:AccesUrgenceRefuse"
    assert "bris de glace" in caught.value.message("fr")
    assert caught.value.permanent
    attempt = desk.sim.traces(PATIENT.matricule.value)[-1]
    assert (attempt.purpose, attempt.outcome, attempt.justification) == (
        "brisDeGlace",
        "refused:dmp:AccesUrgenceRefuse",
        EMERGENCY.justification,
    )
    # The regulation centre was not refused: its access goes through.
    await desk.send(ExistenceQuery(PATIENT), purpose=PurposeOfUse.REGULATION)
    assert desk.sim.traces(PATIENT.matricule.value)[-1].purpose == "urgence"


async def test_regulation_centre_refused_by_the_patient(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent(regulation=False)))
    with pytest.raises(SoapFault, match="regulation centre"):
        await desk.send(ExistenceQuery(PATIENT), purpose=PurposeOfUse.REGULATION)
    with pytest.raises(SoapFault, match="regulation centre"):
        await _submit_as(desk, PurposeOfUse.REGULATION)
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []


async def test_break_the_glass_for_someone_else_is_refused(desk: Desk) -> None:
    await desk.send(CreationRequest(PATIENT, TRAITS, _consent()))
    with pytest.raises(SoapFault) as caught:
        await desk.send(
            ExistenceQuery(PATIENT), purpose=PurposeOfUse.BREAK_GLASS, emergency=WRONG_PERSON
        )
    assert caught.value.fault_code == "dmp:IdentitePatientIncoherente"


# -- over a real socket ------------------------------------------------------------


async def test_rules_hold_over_a_real_socket(desk: Desk) -> None:
    async with served(desk.sim) as url, httpx.AsyncClient() as http:
        desk.soap = SoapClient(http, url, "DMP", timeout_s=60)
        await desk.send(CreationRequest(PATIENT, TRAITS, _consent(emergency=False)))
        with pytest.raises(SoapFault, match=r"TD1\.2"):
            await desk.send(ReactivationRequest(PATIENT), signer=desk.pki.signer_for("nurse"))
        with pytest.raises(SoapFault, match="break-the-glass"):
            await desk.send(
                ExistenceQuery(PATIENT), purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY
            )
        assert (await submit(desk, sample_submission()))[0]
    assert desk.sim.dmp_count() == 1


async def _submit_as(desk: Desk, purpose: PurposeOfUse) -> None:
    envelope = desk.wrap(
        build_submission(sample_submission()), XDS["action"], PATIENT, purpose=purpose
    )
    await desk.soap.call(envelope, action=XDS["action"])
