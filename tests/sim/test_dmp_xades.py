"""The simulated DMP refuses a TD2.1 submission set without a valid XAdES by a signature key."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from kiosk.dmp.transactions import CreationRequest
from kiosk.dmp.vocabulary import NS, XDS
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import build_submission, read_registry_response
from kiosk.signing import KeySigner, Signer, SignerIdentity
from kiosk.sim.dmp.xades import SIGNATURE_ERROR
from tests.sim.dmp_desk import PATIENT, TRAITS, Desk, full_consent, sample_submission


async def _send(desk: Desk, body: etree._Element) -> tuple[bool, tuple[tuple[str, str], ...]]:
    await desk.send(CreationRequest(PATIENT, TRAITS, full_consent()))
    envelope = desk.wrap(body, XDS["action"], PATIENT, xades=False)
    answer = await desk.soap.call(envelope, action=XDS["action"])
    return read_registry_response(answer.payload)


def _stored(desk: Desk) -> int:
    return len(desk.sim.documents.documents_for(PATIENT.matricule.value))


def _foreign_signer() -> Signer:
    """A signature certificate (non-repudiation) from an authority the DMP does not know."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name.from_rfc4514_string("CN=ORG_SIGN,OU=3750100000,O=Ailleurs,C=FR")
    usage = x509.KeyUsage(False, True, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2035, 1, 1, tzinfo=dt.UTC))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return KeySigner(key, cert, SignerIdentity("3750100000", "Ailleurs"))


async def test_a_signed_submission_is_stored(desk: Desk) -> None:
    body = sign_submission(build_submission(sample_submission()), desk.pki.signer_for("doctor"))
    assert await _send(desk, body) == (True, ())
    assert _stored(desk) == 1


async def test_an_unsigned_submission_is_refused(desk: Desk) -> None:
    ok, errors = await _send(desk, build_submission(sample_submission()))
    assert (ok, errors[0][0]) == (False, SIGNATURE_ERROR)
    assert "XAdES" in errors[0][1]
    assert _stored(desk) == 0


async def test_a_submission_changed_after_signing_is_refused(desk: Desk) -> None:
    body = sign_submission(build_submission(sample_submission()), desk.pki.signer_for("doctor"))
    stamp = body.find(f".//{{{NS['rim']}}}Slot[@name='submissionTime']//{{{NS['rim']}}}Value")
    assert stamp is not None
    stamp.text = "20300101000000"  # still consistent metadata, but not what was signed
    ok, errors = await _send(desk, body)
    assert (ok, errors[0][0]) == (False, SIGNATURE_ERROR)
    assert _stored(desk) == 0


async def test_a_signature_with_the_authentication_key_is_refused(desk: Desk) -> None:
    files = desk.pki.files("doctor", "auth")
    auth = KeySigner.from_pem_files(files.key, files.certificate, desk.pki.identity("doctor"))
    ok, errors = await _send(desk, sign_submission(build_submission(sample_submission()), auth))
    assert (ok, errors[0][0]) == (False, SIGNATURE_ERROR)
    assert "authentication key" in errors[0][1]
    assert _stored(desk) == 0


async def test_a_signature_from_another_authority_is_refused(desk: Desk) -> None:
    body = sign_submission(build_submission(sample_submission()), _foreign_signer())
    ok, errors = await _send(desk, body)
    assert (ok, errors[0][0]) == (False, SIGNATURE_ERROR)
    assert "unknown authority" in errors[0][1]
    assert _stored(desk) == 0


async def test_a_garbled_signature_document_is_refused(desk: Desk) -> None:
    body = sign_submission(build_submission(sample_submission()), desk.pki.signer_for("doctor"))
    documents = body.findall(f"{{{NS['xds']}}}Document")
    documents[-1].text = base64.b64encode(b"<not-a-signature/>").decode("ascii")
    ok, errors = await _send(desk, body)
    assert (ok, errors[0][0]) == (False, SIGNATURE_ERROR)
    assert _stored(desk) == 0
