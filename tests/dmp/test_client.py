"""DmpClient against the simulated DMP in-process, signing with KeySigner and SoftHSM2 keys."""

from __future__ import annotations

import pytest

from kiosk.cards.pkcs11 import CpsModule
from kiosk.dmp.client import Access, DmpAlreadyExists, DmpMissing
from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.transactions import (
    AuthorizationStatus,
    ConsentStatement,
    CreationRequest,
    WebAccountRequest,
)
from kiosk.dmp.vihf import PurposeOfUse
from kiosk.errors import AccessDenied
from kiosk.signing import KeySigner
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki

from .samples import (
    CORSICAN,
    DOCTOR_ACTOR,
    DOCTOR_CARD,
    EMERGENCY,
    PATIENT,
    T0,
    VITALE_TRAITS,
    creation,
)
from .simulated import ClientFactory


async def test_unknown_patient_has_no_dmp_and_no_authorization(make_client: ClientFactory) -> None:
    answer = await make_client().existence(PATIENT)
    assert not answer.exists
    assert answer.authorization is AuthorizationStatus.NONE


async def test_creation_then_existence_shows_dmp_and_authorization(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    await client.create(creation(), request_id="creation-1")
    answer = await client.existence(PATIENT)
    assert answer.exists
    assert answer.authorization is AuthorizationStatus.VALID
    assert answer.web_account_open is False
    assert [t.transaction for t in sim.traces(PATIENT.matricule.value)] == ["TD1.1", "TD0.2"]


async def test_web_account_returns_credentials_that_hide_themselves(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    await client.create(creation(), request_id="creation-1")
    credentials = await client.open_web_account(
        WebAccountRequest(PATIENT, mobile="0612345678"), request_id="web-1"
    )
    assert credentials.identifier.startswith("DMP")
    assert credentials.temporary_password
    assert credentials.temporary_password not in repr(credentials)
    assert (await client.existence(PATIENT)).web_account_open is True


async def test_authorization_recorded_for_the_establishment(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    consent = ConsentStatement(T0, creation=True, establishment_access=False)
    await client.create(CreationRequest(PATIENT, VITALE_TRAITS, consent), request_id="c")
    assert (await client.existence(PATIENT)).authorization is AuthorizationStatus.NONE
    await client.authorize(PATIENT)
    assert (await client.existence(PATIENT)).authorization is AuthorizationStatus.VALID


async def test_second_creation_is_refused_with_a_clear_message(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    await client.create(creation(), request_id="first")
    with pytest.raises(DmpAlreadyExists) as caught:
        await client.create(creation(), request_id="second")
    assert caught.value.permanent
    assert "déjà un DMP" in caught.value.message("fr")
    assert sim.dmp_count() == 1


async def test_web_account_without_dmp_is_refused(make_client: ClientFactory) -> None:
    with pytest.raises(DmpMissing) as caught:
        await make_client().open_web_account(WebAccountRequest(CORSICAN, email="a@exemple.fr"))
    assert "pas de DMP" in caught.value.message("fr")


async def test_resent_creation_with_the_same_id_is_the_same_request(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    client = make_client()
    await client.create(creation(), request_id="creation-1")
    await client.create(creation(), request_id="creation-1")  # the stored answer again
    assert sim.dmp_count() == 1


async def test_each_call_carries_a_fresh_vihf(make_client: ClientFactory) -> None:
    # The simulator refuses a replayed assertion: ten calls in one frozen second pass.
    client = make_client()
    for _ in range(10):
        await client.existence(PATIENT)


async def test_authentication_key_is_refused_by_the_service(
    make_client: ClientFactory, test_pki: TestPki
) -> None:
    files = test_pki.files("establishment", "auth")
    auth_signer = KeySigner.from_pem_files(
        files.key, files.certificate, test_pki.identity("establishment")
    )
    with pytest.raises(AccessDenied) as caught:
        await make_client(auth_signer).existence(PATIENT)
    assert "clé de signature" in caught.value.message("fr")


async def test_direct_mode_with_the_doctors_softhsm2_card(
    make_client: ClientFactory, cps_module: CpsModule, sim: DmpSimulator
) -> None:
    session = await cps_module.login(DOCTOR_CARD.pin, card_serial=DOCTOR_CARD.card_serial)
    client = make_client(session.signer, DOCTOR_ACTOR)
    await client.create(creation(), request_id="by-card")
    answer = await client.existence(PATIENT)
    assert answer.exists
    assert answer.authorization is AuthorizationStatus.VALID
    traces = sim.traces(PATIENT.matricule.value)
    assert {(t.actor, t.mode) for t in traces} == {(DOCTOR_CARD.national_id, "DIRECTE")}


@pytest.mark.parametrize(
    ("access", "traced"),
    [
        (Access(), "normal"),
        (Access(PurposeOfUse.REGULATION), "urgence"),
        (Access(PurposeOfUse.BREAK_GLASS, EMERGENCY), "brisDeGlace"),
    ],
)
async def test_purpose_of_use_is_stated_and_traced(
    access: Access, traced: str, make_client: ClientFactory, sim: DmpSimulator
) -> None:
    await make_client().existence(PATIENT, access=access)
    assert [t.purpose for t in sim.traces(PATIENT.matricule.value)] == [traced]


async def test_break_glass_without_justification_never_leaves_the_kiosk(
    make_client: ClientFactory, sim: DmpSimulator
) -> None:
    with pytest.raises(DmpRequestInvalid):
        await make_client().existence(PATIENT, access=Access(PurposeOfUse.BREAK_GLASS))
    assert sim.traces(PATIENT.matricule.value) == []
