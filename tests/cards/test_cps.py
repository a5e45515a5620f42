"""CPS/CPE login, PIN handling and signing over PKCS#11, against real SoftHSM2 tokens."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cards.pkcs11 import CpsModule, PinState, TokenNotFound
from kiosk.errors import CardError, CardRemoved, PinIncorrect, PinLocked
from kiosk.signing import verify_signature
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import TestPki, load_establishment, professional
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm
pin_lock = tokens.pin_lock
cps_module = tokens.cps_module

AGENT = professional("agent")
DOCTOR = professional("doctor")
WRONG = "0000"


async def test_agent_logs_in_and_is_shown_from_card_data(cps_module: CpsModule) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    who = session.professional
    assert who.national_id == AGENT.national_id
    assert who.display_name == "Camille ACCUEIL-TEST"
    assert who.role == "admission_agent"
    assert who.structure_id == AGENT.structure_id
    assert who.sector == "SA01"
    assert who.profession_code == ""
    await session.aclose()


async def test_doctor_shows_profession_and_specialty(cps_module: CpsModule) -> None:
    session = await cps_module.login(DOCTOR.pin, card_serial=DOCTOR.card_serial)
    assert session.professional.profession_code == "10"
    assert session.professional.specialty == "SM26"
    assert session.signer.identity.national_id == DOCTOR.national_id
    await session.aclose()


async def test_professional_identity_repr_hides_name_and_id(cps_module: CpsModule) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    text = repr(session.professional)
    assert AGENT.family_name not in text
    assert AGENT.national_id not in text
    await session.aclose()


async def test_token_found_by_reader_slot_as_cryptolib_exposes_it(cps_module: CpsModule) -> None:
    listed = {t.label: t for t in await cps_module.tokens()}
    slot_name = listed[AGENT.token_label].slot_description
    session = await cps_module.login(AGENT.pin, reader=slot_name)
    assert session.professional.national_id == AGENT.national_id
    await session.aclose()


async def test_reader_without_its_own_slot_falls_back_to_card_serial(
    cps_module: CpsModule,
) -> None:
    session = await cps_module.login(
        DOCTOR.pin, reader="Virtual PCD 00 01", card_serial=DOCTOR.card_serial
    )
    assert session.professional.national_id == DOCTOR.national_id
    await session.aclose()


async def test_unknown_serial_is_a_clear_card_error(cps_module: CpsModule) -> None:
    with pytest.raises(TokenNotFound) as caught:
        await cps_module.login(AGENT.pin, card_serial="9999999999")
    assert isinstance(caught.value, CardError)
    assert "9999999999" in caught.value.message("fr")
    assert "Réinsérez" in caught.value.message("fr")


async def test_wrong_pins_count_down_then_lock(
    cps_module: CpsModule, pin_lock: SimulatedPinLock
) -> None:
    with pytest.raises(PinIncorrect) as first:
        await cps_module.login(WRONG, card_serial=AGENT.card_serial)
    assert first.value.tries_left == 2
    assert "2 essais" in first.value.message("fr")

    with pytest.raises(PinIncorrect) as second:
        await cps_module.login(WRONG, card_serial=AGENT.card_serial)
    assert second.value.tries_left == 1
    assert "Dernier essai" in second.value.message("fr")
    assert "Last try" in second.value.message("en")
    status = await cps_module.pin_status(card_serial=AGENT.card_serial)
    assert status.state is PinState.FINAL_TRY

    with pytest.raises(PinLocked):
        await cps_module.login(WRONG, card_serial=AGENT.card_serial)
    assert (await cps_module.pin_status(card_serial=AGENT.card_serial)).state is PinState.LOCKED

    tried = pin_lock.counter(AGENT.token_label).attempts
    with pytest.raises(PinLocked) as refused:
        await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    assert "bloquée" in refused.value.message("fr")
    assert pin_lock.counter(AGENT.token_label).attempts == tried  # no C_Login spent


async def test_a_good_pin_resets_the_count(cps_module: CpsModule) -> None:
    with pytest.raises(PinIncorrect):
        await cps_module.login(WRONG, card_serial=DOCTOR.card_serial)
    assert (await cps_module.pin_status(card_serial=DOCTOR.card_serial)).state is (
        PinState.COUNT_LOW
    )
    session = await cps_module.login(DOCTOR.pin, card_serial=DOCTOR.card_serial)
    await session.aclose()
    status = await cps_module.pin_status(card_serial=DOCTOR.card_serial)
    assert status.state is PinState.OK
    assert status.tries_left == 3


async def test_without_pin_flags_the_return_codes_still_tell(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    # A middleware that shows no PIN flags: CKR_PIN_INCORRECT gives no count, and the
    # locked card answers CKR_PIN_LOCKED to the next C_Login.
    lock = SimulatedPinLock(tmp_path / "tries", report_flags=False)
    module = CpsModule(softhsm.module, pin_lock=lock)
    for _ in range(3):
        with pytest.raises(PinIncorrect) as wrong:
            await module.login(WRONG, card_serial=AGENT.card_serial)
        assert wrong.value.tries_left is None
    with pytest.raises(PinLocked):
        await module.login(AGENT.pin, card_serial=AGENT.card_serial)
    await module.close_all()


async def test_locked_stays_locked_across_processes(
    cps_module: CpsModule, pin_lock: SimulatedPinLock, softhsm: SoftHsm
) -> None:
    for _ in range(3):
        with pytest.raises((PinIncorrect, PinLocked)):
            await cps_module.login(WRONG, card_serial=AGENT.card_serial)
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from kiosk.cards.pkcs11 import CpsModule\n"
        "from kiosk.cards.pinlock import SimulatedPinLock\n"
        "from kiosk.errors import PinLocked\n"
        "m = CpsModule(Path(sys.argv[1]), pin_lock=SimulatedPinLock(Path(sys.argv[2])))\n"
        "try:\n"
        "    asyncio.run(m.login(sys.argv[3], card_serial=sys.argv[4]))\n"
        "except PinLocked:\n"
        "    sys.exit(42)\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(softhsm.module), str(pin_lock.state_dir),
        AGENT.pin, AGENT.card_serial,
        env={**os.environ, **softhsm.env},
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode == 42, stderr.decode()


async def test_signatures_verify_with_the_signature_certificate_only(
    cps_module: CpsModule, test_pki: TestPki
) -> None:
    session = await cps_module.login(DOCTOR.pin, card_serial=DOCTOR.card_serial)
    data = b"<SignedInfo>VIHF</SignedInfo>"
    signature = await session.signer.sign_async(data)
    assert verify_signature(session.signer.certificate, data, signature)
    assert session.signer.certificate == test_pki.certificate("doctor", "sign")
    assert session.authentication_certificate == test_pki.certificate("doctor", "auth")
    assert not verify_signature(test_pki.certificate("doctor", "auth"), data, signature)
    # Same key as the PKI's signature key: PKCS#1 v1.5 signatures are deterministic.
    assert signature == test_pki.signer_for("doctor").sign(data)
    await session.aclose()


async def test_establishment_token_signs_for_indirect_mode(
    cps_module: CpsModule, test_pki: TestPki
) -> None:
    org = load_establishment()
    session = await cps_module.login(org.pin, label=org.token_label)
    assert session.professional.national_id == org.national_id
    assert session.professional.display_name == org.name
    signature = session.signer.sign(b"outbox item")
    assert verify_signature(
        test_pki.certificate("establishment", "sign"), b"outbox item", signature
    )
    await session.aclose()


async def test_after_logout_the_key_is_gone_and_the_card_can_log_in_again(
    cps_module: CpsModule,
) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    signer = session.signer
    await session.aclose()
    assert not session.open
    with pytest.raises(CardRemoved):
        signer.sign(b"late")
    again = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    assert again.open
    await again.aclose()


async def test_a_second_login_on_an_open_card_is_refused(cps_module: CpsModule) -> None:
    session = await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    with pytest.raises(CardError, match="already open"):
        await cps_module.login(AGENT.pin, card_serial=AGENT.card_serial)
    await session.aclose()


async def test_tokens_lists_every_card_with_its_pin_state(cps_module: CpsModule) -> None:
    listed = {t.label: t for t in await cps_module.tokens()}
    assert AGENT.token_label in listed
    assert listed[AGENT.token_label].pin.state is PinState.OK
    assert "" not in listed  # SoftHSM2's empty spare slot is not a card


async def test_missing_module_is_a_card_error(tmp_path: Path) -> None:
    module = CpsModule(tmp_path / "libnothing.so")
    with pytest.raises(CardError) as caught:
        await module.tokens()
    assert "module" in caught.value.message("en")
