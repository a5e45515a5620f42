"""XAdES-BES through the Signer port, verified against the test CA and the signature key only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from kiosk.signing import KeySigner
from kiosk.sim.pki import TestPki
from kiosk.soap.wssec import IssuedBy, SignatureRejected, sign_xades, verify_xades
from tests.signers import CountingSigner

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
XADES = "http://uri.etsi.org/01903/v1.3.2#"


def _data() -> etree._Element:
    root = etree.Element("{urn:test}Data", nsmap={"t": "urn:test"}, Id="SubmissionSet")
    etree.SubElement(root, "{urn:test}Digest").text = "abc"
    return root


def _trust(pki: TestPki) -> IssuedBy:
    return IssuedBy((pki.ca_certificate,), lambda: NOW)


def test_xades_is_signed_through_the_port_and_verifies(pki: TestPki) -> None:
    port = CountingSigner(pki.signer_for("establishment"))
    signed = etree.fromstring(etree.tostring(sign_xades(_data(), port)))
    assert len(port.signed) == 1
    assert port.signed[0].startswith(b"<ds:SignedInfo")
    assert (
        signed.find(f".//{{{XADES}}}SignedProperties//{{{XADES}}}SigningCertificateV2") is not None
    )
    verified = verify_xades(signed, _trust(pki))
    assert verified.certificate == pki.certificate("establishment", "sign")
    assert verified.signed.findtext("{urn:test}Digest") == "abc"


def test_content_changed_after_signing_is_rejected(pki: TestPki) -> None:
    signed = sign_xades(_data(), pki.signer_for("doctor"))
    signed.find("{urn:test}Digest").text = "abd"  # type: ignore[union-attr]
    with pytest.raises(SignatureRejected, match="invalid signature"):
        verify_xades(signed, _trust(pki))


def test_signed_properties_changed_after_signing_are_rejected(pki: TestPki) -> None:
    signed = sign_xades(_data(), pki.signer_for("doctor"))
    when = signed.find(f".//{{{XADES}}}SigningTime")
    assert when is not None
    when.text = "2020-01-01T00:00:00Z"
    with pytest.raises(SignatureRejected):
        verify_xades(signed, _trust(pki))


def test_a_signature_with_the_authentication_key_is_rejected(pki: TestPki) -> None:
    files = pki.files("doctor", "auth")
    auth = KeySigner.from_pem_files(files.key, files.certificate, pki.identity("doctor"))
    signed = sign_xades(_data(), auth)
    with pytest.raises(SignatureRejected, match="authentication key"):
        verify_xades(signed, _trust(pki))


def test_a_certificate_from_another_authority_is_rejected(
    pki: TestPki, rogue_signer: KeySigner
) -> None:
    signed = sign_xades(_data(), rogue_signer)
    with pytest.raises(SignatureRejected) as caught:
        verify_xades(signed, _trust(pki))
    assert caught.value.message_fr.startswith("Signature refusée")


def test_an_element_without_id_cannot_be_signed(pki: TestPki) -> None:
    with pytest.raises(ValueError, match="Id"):
        sign_xades(etree.Element("{urn:test}Data"), pki.signer_for("doctor"))
