"""The kiosk's habilitation pre-check: run by the client before every DMP call, no call if refused.

Seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP en
authentification directe par carte CPE ». The client is asked with the profile its VIHF
would state; a refusal is a :class:`HabilitationDenied` raised before anything is signed
or leaves the kiosk, so the request counter below stays at zero.
"""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest

from kiosk.data import habilitations_text
from kiosk.dmp.client import DmpClient
from kiosk.dmp.sender import DmpSender
from kiosk.dmp.vihf import Actor, AuthMode
from kiosk.dmp.vocabulary import CodedValue
from kiosk.domain.habilitation import AuthMode as TableMode
from kiosk.domain.habilitation import DmpAction, HabilitationDenied, HabilitationTable, Profile
from kiosk.outbox.ports import OutboxItem, PermanentSendError
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki

from .samples import AGENT, PATIENT, UPDATE, creation, sample_submission
from .simulated import ClientFactory

TABLE = HabilitationTable.from_toml_text(habilitations_text())
CPE_DIRECT = Actor(
    issuer="",
    national_id="3750100000/0000042",
    display_name="ACCUEIL-TEST Camille",
    structure_id="3750100000",
    sector="SA01",
    profession=CodedValue("ADM", "1.2.250.1.213.1.1.4.6", "Personnel administratif"),
    specialty=None,
    mode=AuthMode.DIRECT,
)
"""A secretary signing with her own CPE (no G15 profession)."""


class Counting(httpx.AsyncBaseTransport):
    """A transport that only counts: any request reaching it is a call the check let out."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(503)


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
def secretary(make_client: ClientFactory, test_pki: TestPki, counting: Counting) -> DmpClient:
    http = httpx.AsyncClient(transport=counting, base_url="http://dmp.test")
    client = make_client(test_pki.signer_for("agent"), CPE_DIRECT, transport=http)
    client.habilitations, client.role = TABLE, "secretary"
    return client


async def test_a_secretarys_submission_with_her_cpe_never_leaves_the_kiosk(
    secretary: DmpClient, counting: Counting
) -> None:
    """Seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP en
    authentification directe par carte CPE »."""
    with pytest.raises(HabilitationDenied) as caught:
        await secretary.submit(sample_submission())
    assert caught.value.action is DmpAction.SUBMISSION
    assert "envoi de document (TD2.1)" in caught.value.message_fr
    assert "document submission (TD2.1)" in caught.value.message_en
    assert caught.value.rule is not None
    assert "ne peut pas ajouter" in caught.value.rule.source
    with pytest.raises(HabilitationDenied) as update:
        await secretary.update_attributes(UPDATE)
    assert update.value.action is DmpAction.ATTRIBUTE_UPDATE
    assert counting.requests == 0


async def test_a_wrong_record_correction_is_its_own_action(
    secretary: DmpClient, counting: Counting
) -> None:
    from kiosk.dmp.attributes import AttributeChange

    wrong = dataclasses.replace(
        UPDATE, change=AttributeChange.WRONG_PATIENT, visibility=None, reason="autre patient"
    )
    with pytest.raises(HabilitationDenied) as caught:
        await secretary.update_attributes(wrong)
    assert caught.value.action is DmpAction.WRONG_RECORD_CORRECTION
    assert counting.requests == 0


async def test_the_same_secretary_may_create_with_her_cpe(
    secretary: DmpClient, counting: Counting
) -> None:
    """Seed 001: « La création du DMP peut être faite par tout professionnel de santé ou
    personnel d’établissement authentifié par une carte CPS/CPE »: the check lets TD1.1 out
    (the counting transport then answers 503, so the call did leave)."""
    with pytest.raises(Exception, match=r"(?i)dmp|503|unavailable|indisponible"):
        await secretary.create(creation(), request_id="td11")
    assert counting.requests == 1


async def test_in_indirect_mode_her_submission_reaches_the_dmp(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    """Seed 001: « par une secrétaire médicale [...] uniquement en authentification indirecte
    (via un certificat de ‘‘personne morale’’ [...]) »."""
    establishment = make_client()  # ORG_SIGN, indirect
    establishment.habilitations = TABLE
    await establishment.create(creation(), request_id="setup")
    named = establishment.for_agent("3750100000/cdupont", "Claire DUPONT", role="secretary")
    assert named.profile == Profile("", "secretary", TableMode.INDIRECT)
    await named.submit(sample_submission())
    assert len(sim.show(PATIENT.matricule.value)["documents"]) == 1  # type: ignore[arg-type]


async def test_the_outbox_turns_a_refusal_into_a_dead_letter_without_a_call(
    secretary: DmpClient, counting: Counting
) -> None:
    from kiosk.dmp.sender import registry_item
    from kiosk.dmp.xds import build_submission

    submission = sample_submission()
    kind, key, payload = registry_item(
        "TD2.1", build_submission(submission), PATIENT, submission.document_unique_id
    )
    item = OutboxItem(
        id=uuid.uuid4(),
        idempotency_key=key,
        kind=kind,
        payload=payload,
        signature=b"",
        signer_id="",
        attempt=1,
    )
    with pytest.raises(PermanentSendError) as caught:
        await DmpSender(secretary).send(item)
    assert caught.value.fault_code == "HABILITATION_DENIED"
    assert counting.requests == 0


def test_the_profile_is_what_the_vihf_states(make_client: ClientFactory) -> None:
    assert make_client(actor=AGENT).profile == Profile("", "", TableMode.INDIRECT)
    doctor = make_client(actor=dataclasses.replace(AGENT, mode=AuthMode.DIRECT))
    assert doctor.profile.mode is TableMode.DIRECT
