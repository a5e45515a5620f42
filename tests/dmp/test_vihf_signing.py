"""The VIHF signed with the test PKI's signature key through soap/wssec, as the DMP receives it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.vihf import VihfRequest, build_vihf, issuer_of, read_vihf
from kiosk.dmp.vocabulary import ATTR, NS
from kiosk.sim.pki import TestPki, ensure_test_pki
from kiosk.soap.wssec import IssuedBy, SignatureRejected, sign_enveloped, verify_enveloped

from .samples import DOCTOR, PATIENT, SOFTWARE, T0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return ensure_test_pki(Path(tmp_path_factory.mktemp("pki")))


def _signed(pki: TestPki) -> etree._Element:
    signer = pki.signer_for("doctor")
    actor = dataclasses.replace(DOCTOR, issuer=issuer_of(signer.certificate))
    assertion = build_vihf(
        VihfRequest(actor, SOFTWARE, PATIENT), clock=FrozenClock(T0), assertion_id="_signed"
    )
    return sign_enveloped(assertion, signer, after=f"{{{NS['saml']}}}Issuer")


def test_signed_vihf_verifies_and_reads_clean(pki: TestPki) -> None:
    signed = etree.fromstring(etree.tostring(_signed(pki)))
    verified = verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: T0))
    reading = read_vihf(verified.signed, now=T0, card_structure_id="3750100000")
    assert reading.ok
    assert reading.issuer == verified.certificate.subject.rfc4514_string()
    assert reading.national_id == "899900000001"


def test_assertion_altered_after_signing_is_rejected(pki: TestPki) -> None:
    signed = _signed(pki)
    target = signed.find(
        f".//{{{NS['saml']}}}Attribute[@Name='{ATTR['resource_id']}']/{{{NS['saml']}}}AttributeValue"
    )
    assert target is not None
    target.text = "253072B07300470^^^&1.2.250.1.213.1.4.10&ISO^NH"  # another patient
    with pytest.raises(SignatureRejected):
        verify_enveloped(signed, IssuedBy((pki.ca_certificate,), lambda: T0))
