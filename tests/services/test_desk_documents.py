"""Documents at the desk, through the desk's services on the simulated world over a socket.

Seed 000: visibility for three populations, author-only deletion, wrong-record
correction (TD3.3c); seed 001: « une secrétaire médicale ne peut pas ajouter des
documents dans le DMP en authentification directe par carte CPE », and a result held
from the patient until the consultation d'annonce, then released.
"""

from __future__ import annotations

import pytest

from kiosk.audit.store import AuditLog
from kiosk.cards.ports import CardInserted, CardKind
from kiosk.domain.habilitation import HabilitationDenied, HabilitationTable
from kiosk.domain.ins import Ins
from kiosk.domain.visibility import HIDDEN_FROM_PATIENT, Visibility
from kiosk.outbox.ports import Delivery
from kiosk.services.documents import MAX_PDF_BYTES, DocumentInvalid
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import (
    card_control,
    desk_services,
    dmp_record,
    logged_in,
    next_event,
    patient_with_a_dmp,
    sim_world,
)

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki

ADULT_NIR = "180057505612342"  # kiosk/sim/data/cards/adult.toml, under the INS test OID
DOCTOR_PIN = "2580"  # kiosk/sim/data/professionals.toml: the fixture doctor's test PIN
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def _doctor_with_a_patient(services: Services) -> Ins:
    """The fixture doctor logged in with her CPS, then the adult admitted: their INS."""
    events = services.card_monitor.events()
    card_control(services, {"op": "insert", "card": "cps-doctor"})
    await services.desk.card_event(await next_event(events, CardInserted, CardKind.CPS))
    who = await services.desk.login(DOCTOR_PIN)
    assert who.profession_code == "10"
    return await patient_with_a_dmp(services, events)


async def test_a_doctor_sends_a_discharge_letter_held_from_the_patient_then_releases_it(
    desk_services: Services,
) -> None:
    services = desk_services
    patient = await _doctor_with_a_patient(services)
    documents = services.desk.documents()

    held = Visibility(patient=False)  # until the consultation d'annonce (seed 001)
    sent = await documents.submit(patient, PDF, "discharge_summary", visibility=held)
    assert sent.delivery is Delivery.DONE
    stored = (await dmp_record(services, ADULT_NIR))["documents"]
    assert [(d["unique_id"], d["type_code"]) for d in stored] == [(sent.unique_id, "11490-0")]

    (listed,) = await documents.documents(patient)  # what this establishment sent
    assert (listed.unique_id, listed.type_code) == (sent.unique_id, "11490-0")
    assert listed.visibility == held
    released = await documents.set_visibility(patient, listed, Visibility())
    assert released.delivery is Delivery.DONE
    (again,) = await documents.documents(patient)
    assert again.visibility == Visibility()
    (in_dmp,) = (await dmp_record(services, ADULT_NIR))["documents"]
    assert HIDDEN_FROM_PATIENT not in str(in_dmp)  # the DMP shows it to the patient now

    gone = await documents.delete(patient, again)  # the author deletes their own
    assert gone.delivery is Delivery.DONE
    assert await documents.documents(patient) == ()
    (in_dmp,) = (await dmp_record(services, ADULT_NIR))["documents"]
    assert in_dmp["status"] == "Deleted"

    await services.outbox.chain_owed()
    log = AuditLog(services.outbox.path)
    assert (await log.verify()).ok
    lines = "\n".join(await log.export_lines())
    assert '"dmp.document_queued"' in lines
    assert '"type":"11490-0"' in lines.replace(" ", "")
    assert lines.count('"dmp.document_update_queued"') == 2
    assert ADULT_NIR not in lines


async def test_a_document_sent_to_the_wrong_dmp_is_withdrawn_with_its_reason(
    desk_services: Services,
) -> None:
    services = desk_services
    patient = await _doctor_with_a_patient(services)
    documents = services.desk.documents()
    await documents.submit(patient, PDF, "laboratory_report")
    (listed,) = await documents.documents(patient)
    with pytest.raises(DocumentInvalid):
        await documents.wrong_patient(patient, listed, "  ")
    fixed = await documents.wrong_patient(patient, listed, "Résultat d'un autre patient")
    assert fixed.delivery is Delivery.DONE
    assert await documents.documents(patient) == ()
    (in_dmp,) = (await dmp_record(services, ADULT_NIR))["documents"]
    assert in_dmp["status"] == "Deleted"


SITE_TABLE = """
version = 1

[[rule]]
description = "This site lets its admission desk create DMPs, and nothing else"
source = "site decision"
professions = ["*"]
roles = ["*"]
modes = ["direct", "indirect"]
actions = ["TD0.2", "TD0.3", "TD1.1", "TD1.5"]
"""


async def test_a_role_the_sites_table_refuses_is_refused_before_anything_is_queued(
    desk_services: Services,
) -> None:
    """The pre-check runs before every DMP write, on the site's own table (site data)."""
    services = desk_services
    events = services.card_monitor.events()
    await logged_in(services, events)
    patient = await patient_with_a_dmp(services, events)
    services.dmp.habilitations = HabilitationTable.from_toml_text(SITE_TABLE)
    rows = sum((await services.outbox.status()).counts.values())
    with pytest.raises(HabilitationDenied) as refused:
        await services.desk.documents().submit(patient, PDF, "discharge_summary")
    assert "TD2.1" in refused.value.message("fr")
    assert sum((await services.outbox.status()).counts.values()) == rows  # nothing queued
    assert (await dmp_record(services, ADULT_NIR))["documents"] == []
    assert await services.desk.documents().documents(patient) == ()


@pytest.mark.parametrize(
    ("pdf", "type_key", "words"),
    [
        (PDF, "x-ray-of-nowhere", "Type de document inconnu"),
        (b"GIF89a not a pdf", "discharge_summary", "pas un PDF"),
        (PDF + b"\0" * MAX_PDF_BYTES, "discharge_summary", "trop volumineux"),
    ],
)
async def test_bad_documents_are_refused_and_nothing_is_queued(
    desk_services: Services, pdf: bytes, type_key: str, words: str
) -> None:
    services = desk_services
    patient = await _doctor_with_a_patient(services)
    with pytest.raises(DocumentInvalid) as refused:
        await services.desk.documents().submit(patient, pdf, type_key)
    assert words in refused.value.message("fr")
    assert (await dmp_record(services, ADULT_NIR))["documents"] == []
