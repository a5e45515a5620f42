"""TD2.1 and TD3.3 through the client against the simulated DMP (MTOM on the wire)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from lxml import etree

from kiosk.dmp.attributes import AttributeChange, AttributeUpdate
from kiosk.dmp.cda import build_cda
from kiosk.dmp.client import DmpClient
from kiosk.domain.visibility import Visibility
from kiosk.errors import Unavailable
from kiosk.sim.dmp.service import DmpFault, DmpSimulator
from kiosk.sim.pki import TestPki

from .samples import DOCTOR_ACTOR, PATIENT, cda_document, creation, sample_submission
from .simulated import ClientFactory


@pytest.fixture
async def doctor(make_client: ClientFactory, test_pki: TestPki) -> DmpClient:
    await make_client().create(creation(), request_id="setup")
    return make_client(test_pki.signer_for("doctor"), DOCTOR_ACTOR)


async def test_document_is_stored_once_even_when_its_answer_is_lost(
    doctor: DmpClient, sim: DmpSimulator
) -> None:
    submission = sample_submission()
    sim.inject(DmpFault.LOST_RESPONSE)
    with pytest.raises(Unavailable) as lost:  # retryable: the resend below relies on it
        await doctor.submit(submission)
    assert lost.value.retryable
    await doctor.submit(submission)  # the resend: same uniqueId, same content
    stored = sim.show(PATIENT.matricule.value)["documents"]
    assert [d["unique_id"] for d in stored] == [submission.document_unique_id]  # type: ignore[attr-defined]


async def test_inline_and_mtom_submissions_are_both_accepted(
    doctor: DmpClient, make_client: ClientFactory, test_pki: TestPki, sim: DmpSimulator
) -> None:
    await doctor.submit(sample_submission())
    inline = make_client(test_pki.signer_for("doctor"), DOCTOR_ACTOR, mtom=False)
    cda = cda_document(document_extension="0190a1b2-0000-7000-8000-000000000002")
    other = dataclasses.replace(
        sample_submission(),
        cda=cda,
        document=etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8"),
        entry_uuid=uuid.UUID("0190a1b2-0000-7000-8000-0000000000e2"),
        submission_uuid=uuid.UUID("0190a1b2-0000-7000-8000-000000000052"),
        submission_unique_id="1.2.250.1.999.1.2.2",
    )
    await inline.submit(other)
    assert len(sim.show(PATIENT.matricule.value)["documents"]) == 2  # type: ignore[arg-type]


async def test_visibility_update_of_a_stored_document(doctor: DmpClient, sim: DmpSimulator) -> None:
    submission = sample_submission()
    await doctor.submit(submission)
    update = AttributeUpdate(
        submission.submission_uuid,
        PATIENT,
        f"urn:uuid:{submission.entry_uuid}",
        submission.document_unique_id,
        AttributeChange.VISIBILITY,
        visibility=Visibility(professionals=False),
    )
    await doctor.update_attributes(update)
    (stored,) = sim.show(PATIENT.matricule.value)["documents"]  # type: ignore[misc]
    assert "MASQUE_PS" in stored["confidentiality"]


async def test_a_doctor_with_her_card_finds_the_patients_documents(
    doctor: DmpClient,
) -> None:
    """TD3.1 (ITI-18 FindDocuments): seed 001, « La consultation des DMP ne peut être
    effectuée que par un professionnel de santé et nécessite l'usage d'une CPS individuelle »."""
    submission = sample_submission()  # hidden from the patient
    await doctor.submit(submission)
    (found,) = await doctor.find_documents(PATIENT)
    assert found.unique_id == submission.document_unique_id
    assert found.entry_uuid == f"urn:uuid:{submission.entry_uuid}"
    assert found.type_code == "11490-0"
    assert found.status == "Approved"
    assert found.visibility == Visibility(patient=False)


async def test_the_establishments_certificate_may_not_search(make_client: ClientFactory) -> None:
    from kiosk.data import habilitations_text
    from kiosk.domain.habilitation import HabilitationDenied, HabilitationTable

    client = make_client()  # indirect mode, ORG_SIGN
    client.habilitations = HabilitationTable.from_toml_text(habilitations_text())
    with pytest.raises(HabilitationDenied):
        await client.find_documents(PATIENT)
