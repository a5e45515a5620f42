"""Every TD2.1 the client sends carries the session's XAdES, an outbox resend included."""

from __future__ import annotations

import pytest

from kiosk.dmp.client import DmpClient
from kiosk.dmp.xds import build_submission
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.sim.pki import TestPki
from tests.signers import CountingSigner

from .samples import DOCTOR_ACTOR, PATIENT, creation, sample_submission
from .simulated import ClientFactory


@pytest.fixture
async def counted(
    make_client: ClientFactory, test_pki: TestPki
) -> tuple[DmpClient, CountingSigner]:
    await make_client().create(creation(), request_id="setup")
    port = CountingSigner(test_pki.signer_for("doctor"))
    return make_client(port, DOCTOR_ACTOR), port


def _xades(port: CountingSigner) -> list[bytes]:
    return [data for data in port.signed if b"SignedProperties" in data]


@pytest.mark.parametrize("mtom", [True, False])
async def test_a_submission_is_signed_by_the_session_and_stored(
    mtom: bool, make_client: ClientFactory, test_pki: TestPki, sim: DmpSimulator
) -> None:
    await make_client().create(creation(), request_id="setup")
    port = CountingSigner(test_pki.signer_for("doctor"))
    await make_client(port, DOCTOR_ACTOR, mtom=mtom).submit(sample_submission())
    assert len(port.signed) == 2  # the VIHF, then the submission set's XAdES
    assert len(_xades(port)) == 1
    assert len(sim.show(PATIENT.matricule.value)["documents"]) == 1  # type: ignore[arg-type]


async def test_an_unsigned_outbox_body_is_signed_when_sent(
    counted: tuple[DmpClient, CountingSigner], sim: DmpSimulator
) -> None:
    client, port = counted
    submission = sample_submission()
    body = build_submission(submission)  # as the outbox keeps it: no signature
    await client.send_registry("TD2.1", body, PATIENT, str(submission.entry_uuid))
    assert len(_xades(port)) == 1
    assert len(sim.show(PATIENT.matricule.value)["documents"]) == 1  # type: ignore[arg-type]
