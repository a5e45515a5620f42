"""The submission set's XAdES signature document, by a KeySigner or a SoftHSM2 token."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from kiosk.cards.pkcs11 import CpsModule
from kiosk.dmp.vocabulary import NS, OID, CodedValue
from kiosk.dmp.xades import (
    SignatureMismatch,
    sign_submission,
    signature_document_id,
    verify_submission,
)
from kiosk.dmp.xds import build_submission, read_submission
from kiosk.domain.visibility import Visibility
from kiosk.signing import KeySigner
from kiosk.sim.pki import TestPki, professional
from kiosk.soap.envelope import InvalidXml
from kiosk.soap.wssec import IssuedBy, SignatureRejected

from .samples import T0, sample_submission

_XDS = f"{{{NS['xds']}}}"
_RIM = f"{{{NS['rim']}}}"
_DS = "http://www.w3.org/2000/09/xmldsig#"
_HOSTILE = (
    b'<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>',
    f'<r xmlns:ds="{_DS}"><ds:Signature><ds:KeyInfo><ds:X509Data>'
    "<ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
    "</ds:Signature></r>".encode(),
    b"<SubmissionSetSignatureData/>",
)


def _body() -> etree._Element:
    return build_submission(
        sample_submission(
            submission_uuid=uuid.UUID("0190a1b2-0000-7000-8000-0000000000f1"),
            visibility=Visibility(),
            class_code=CodedValue("10", OID["xds_class"]),
            practice=CodedValue("ETABLISSEMENT", OID["xds_practice"]),
            content_type=CodedValue("04", OID["xds_content_type"]),
        )
    )


def _trust(pki: TestPki) -> IssuedBy:
    return IssuedBy((pki.ca_certificate,), lambda: T0)


def _received(body: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(body))  # as the service parses it


def test_signed_submission_verifies_and_keeps_one_patient_document(test_pki: TestPki) -> None:
    signed = _received(sign_submission(_body(), test_pki.signer_for("establishment")))
    verified = verify_submission(signed, _trust(test_pki))
    assert verified.certificate == test_pki.certificate("establishment", "sign")
    assert len(signed.findall(f"{_XDS}Document")) == 2
    (entry,) = read_submission(signed).entries  # the signature is not a patient document
    assert entry.unique_id.endswith("0190a1b2-0000-7000-8000-000000000001")


def test_signing_again_replaces_the_signature(test_pki: TestPki) -> None:
    signer = test_pki.signer_for("establishment")
    twice = sign_submission(sign_submission(_body(), signer), signer)
    ident = signature_document_id(twice)
    assert len(twice.findall(f"{_XDS}Document[@id='{ident}']")) == 1
    verify_submission(_received(twice), _trust(test_pki))


def test_a_submission_without_signature_is_refused(test_pki: TestPki) -> None:
    with pytest.raises(SignatureMismatch, match="missing or does not match"):
        verify_submission(_body(), _trust(test_pki))


def test_metadata_changed_after_signing_is_refused(test_pki: TestPki) -> None:
    signed = _received(sign_submission(_body(), test_pki.signer_for("establishment")))
    title = signed.find(f".//{_RIM}ExtrinsicObject/{_RIM}Name/{_RIM}LocalizedString")
    assert title is not None
    title.set("value", "Autre titre")
    with pytest.raises(SignatureMismatch):
        verify_submission(signed, _trust(test_pki))


def test_document_changed_after_signing_is_refused(test_pki: TestPki) -> None:
    signed = _received(sign_submission(_body(), test_pki.signer_for("establishment")))
    entry = signed.find(f"{_XDS}Document")
    assert entry is not None
    content = base64.b64decode(entry.text or "").replace(b"Lettre", b"Lettra")
    entry.text = base64.b64encode(content).decode("ascii")
    with pytest.raises(SignatureMismatch):
        verify_submission(signed, _trust(test_pki))


def test_a_signature_swapped_in_from_another_submission_is_refused(test_pki: TestPki) -> None:
    signer = test_pki.signer_for("establishment")
    ours = _received(sign_submission(_body(), signer))
    other = _body()
    other.find(f".//{_RIM}ExtrinsicObject/{_RIM}Name/{_RIM}LocalizedString").set("value", "X")  # type: ignore[union-attr]
    theirs = sign_submission(other, signer)
    ident = signature_document_id(ours)
    ours.find(f"{_XDS}Document[@id='{ident}']").text = (  # type: ignore[union-attr]
        theirs.find(f"{_XDS}Document[@id='{ident}']").text  # type: ignore[union-attr]
    )
    with pytest.raises(SignatureMismatch):
        verify_submission(ours, _trust(test_pki))


def test_authentication_key_signature_is_refused(test_pki: TestPki) -> None:
    files = test_pki.files("doctor", "auth")
    auth = KeySigner.from_pem_files(files.key, files.certificate, test_pki.identity("doctor"))
    with pytest.raises(SignatureRejected, match="authentication key"):
        verify_submission(_received(sign_submission(_body(), auth)), _trust(test_pki))


async def test_a_cps_signature_key_on_softhsm_signs_the_submission(
    cps_module: CpsModule, test_pki: TestPki
) -> None:
    doctor = professional("doctor")
    session = await cps_module.login(doctor.pin, card_serial=doctor.card_serial)
    try:
        signed = await asyncio.to_thread(sign_submission, _body(), session.signer)
    finally:
        await session.aclose()
    verified = verify_submission(_received(signed), _trust(test_pki))
    assert verified.certificate == test_pki.certificate("doctor", "sign")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400) | st.sampled_from(_HOSTILE))
def test_any_forged_signature_document_ends_in_a_kiosk_error(raw: bytes) -> None:
    body = _body()
    etree.SubElement(
        body, f"{_XDS}Document", id=signature_document_id(body)
    ).text = base64.b64encode(raw).decode("ascii")
    with pytest.raises((SignatureRejected, SignatureMismatch, InvalidXml)):
        verify_submission(body, IssuedBy((), lambda: T0))


@pytest.mark.parametrize("damage", ["value", "reference", "object"])
def test_a_damaged_signature_by_a_trusted_certificate_is_refused(
    damage: str, test_pki: TestPki
) -> None:
    signed = _received(sign_submission(_body(), test_pki.signer_for("establishment")))
    holder = signed.find(f"{_XDS}Document[@id='{signature_document_id(signed)}']")
    assert holder is not None
    signature = etree.fromstring(base64.b64decode(holder.text or ""))
    if damage == "value":
        value = signature.find(f".//{{{_DS}}}SignatureValue")
        value.text = base64.b64encode(b"\0" * 256).decode()  # type: ignore[union-attr]
    else:
        tag = "Reference" if damage == "reference" else "Object"
        found = signature.find(f".//{{{_DS}}}{tag}")
        found.getparent().remove(found)  # type: ignore[union-attr]
    holder.text = base64.b64encode(etree.tostring(signature)).decode("ascii")
    with pytest.raises(SignatureRejected):
        verify_submission(signed, _trust(test_pki))
