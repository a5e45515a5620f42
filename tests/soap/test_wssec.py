"""WS-Security signatures through the Signer port, verified against the test CA only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from kiosk.signing import KeySigner
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import NS, qname
from kiosk.soap.wssec import (
    IssuedBy,
    Pinned,
    SignatureRejected,
    security_header,
    sign_enveloped,
    verify_enveloped,
)
from tests.signers import CountingSigner

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def _assertion() -> etree._Element:
    el = etree.Element(qname("saml", "Assertion"), nsmap={"saml": NS["saml"]}, ID="_a1")
    etree.SubElement(el, qname("saml", "Issuer")).text = "CN=test"
    etree.SubElement(el, qname("saml", "Subject")).text = "3750100000"
    return el


def test_signature_is_made_through_the_port_over_exclusive_c14n(pki: TestPki) -> None:
    port = CountingSigner(pki.signer_for("establishment"))
    signed = sign_enveloped(_assertion(), port, after=qname("saml", "Issuer"))
    assert len(port.signed) == 1
    assert port.signed[0].startswith(b"<ds:SignedInfo")
    assert signed[1].tag == qname("ds", "Signature"), "SAML wants the signature after Issuer"
    method = signed.find(".//ds:CanonicalizationMethod", NS)
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    result = verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: NOW))
    assert result.signed.findtext("saml:Subject", namespaces=NS) == "3750100000"


def test_signature_survives_being_placed_in_a_security_header(pki: TestPki) -> None:
    signed = sign_enveloped(_assertion(), pki.signer_for("agent"), after=qname("saml", "Issuer"))
    header = security_header(signed, created=NOW)
    reparsed = etree.fromstring(etree.tostring(header))
    token = reparsed.find("saml:Assertion", NS)
    assert token is not None
    verify_enveloped(token, IssuedBy((pki.ca_certificate,), lambda: NOW))
    assert reparsed.findtext("wsu:Timestamp/wsu:Expires", namespaces=NS) == "2026-01-15T09:35:00Z"


def test_tampered_content_is_rejected(pki: TestPki) -> None:
    signed = sign_enveloped(_assertion(), pki.signer_for("establishment"))
    subject = signed.find("saml:Subject", NS)
    assert subject is not None
    subject.text = "3999999999"
    with pytest.raises(SignatureRejected, match="invalid signature"):
        verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: NOW))


def test_certificate_not_issued_by_the_test_ca_is_rejected(
    pki: TestPki, rogue_signer: KeySigner
) -> None:
    signed = sign_enveloped(_assertion(), rogue_signer)
    with pytest.raises(SignatureRejected, match="not issued by the trusted authority"):
        verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: NOW))


def test_expired_certificate_is_rejected(pki: TestPki) -> None:
    signed = sign_enveloped(_assertion(), pki.signer_for("establishment"))
    later = datetime(2040, 1, 1, tzinfo=UTC)
    with pytest.raises(SignatureRejected, match="expired"):
        verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: later))


def test_pinned_trust_accepts_only_that_certificate(pki: TestPki) -> None:
    signed = sign_enveloped(_assertion(), pki.signer_for("doctor"))
    verify_enveloped(signed, Pinned(pki.certificate("doctor", "sign")))
    with pytest.raises(SignatureRejected, match="unexpected certificate"):
        verify_enveloped(signed, Pinned(pki.certificate("establishment", "sign")))


def test_only_signed_content_is_returned(pki: TestPki) -> None:
    signed = sign_enveloped(_assertion(), pki.signer_for("establishment"))
    wrapper = etree.Element("{urn:test}Wrapper")
    wrapper.append(signed)
    etree.SubElement(wrapper, "{urn:test}Unsigned").text = "injected"
    result = verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: NOW))
    assert b"injected" not in etree.tostring(result.signed)


def test_unsigned_element_is_rejected(pki: TestPki) -> None:
    with pytest.raises(SignatureRejected, match="no signing certificate"):
        verify_enveloped(_assertion(), IssuedBy((pki.ca_certificate,), lambda: NOW))
