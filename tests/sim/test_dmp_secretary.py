"""The simulated DMP refuses what seed 001 forbids: a CPE holder feeding in direct mode.

Seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP en
authentification directe par carte CPE » — and « par une secrétaire médicale ou toute
autre personne habilitée par l’établissement, uniquement en authentification indirecte ».
"""

from __future__ import annotations

import pytest

from kiosk.dmp.transactions import CreationRequest
from kiosk.dmp.vocabulary import XDS
from kiosk.dmp.xds import build_submission, read_registry_response
from kiosk.errors import SoapFault
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, full_consent, sample_submission


async def test_a_cpe_submission_in_direct_mode_is_refused_and_traced(desk: Desk) -> None:
    agent = desk.pki.signer_for("agent")  # the CPE of establishment staff, no G15 profession
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()), signer=agent)
    envelope = desk.wrap(
        build_submission(sample_submission()), XDS["action"], PATIENT, signer=agent
    )
    with pytest.raises(SoapFault) as caught:
        await desk.soap.call(envelope, action=XDS["action"])
    assert caught.value.fault_code == "dmp:HabilitationInsuffisante"
    assert "envoi de document (TD2.1)" in caught.value.message("fr")
    assert desk.sim.documents.documents_for(PATIENT.matricule.value) == []
    outcomes = [(t.transaction, t.outcome) for t in desk.sim.traces(PATIENT.matricule.value)]
    assert outcomes[-1] == ("TD2.1", "refused:dmp:HabilitationInsuffisante")


async def test_the_same_document_through_the_establishment_is_stored(desk: Desk) -> None:
    establishment = desk.pki.signer_for("establishment")
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()), signer=establishment)
    envelope = desk.wrap(
        build_submission(sample_submission()), XDS["action"], PATIENT, signer=establishment
    )
    answer = await desk.soap.call(envelope, action=XDS["action"])
    assert read_registry_response(answer.payload) == (True, ())
    assert len(desk.sim.documents.documents_for(PATIENT.matricule.value)) == 1
