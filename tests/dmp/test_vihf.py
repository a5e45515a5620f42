"""The VIHF: what the DMP reads in it, and what the kiosk refuses to send."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.vihf import (
    AuthMode,
    Problem,
    PurposeOfUse,
    VihfRequest,
    build_vihf,
    read_vihf,
)
from kiosk.dmp.vocabulary import ATTR, INS_TEST_OID, NS

from .golden import assert_golden
from .samples import AGENT, DOCTOR, EMERGENCY, PATIENT, SOFTWARE, T0


def _request(**changes: object) -> VihfRequest:
    base = VihfRequest(actor=DOCTOR, software=SOFTWARE, patient=PATIENT)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_direct_vihf_matches_golden_file(clock: FrozenClock) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_vihf-1")
    assert_golden("vihf_direct.xml", assertion)


def test_break_glass_vihf_matches_golden_file(clock: FrozenClock) -> None:
    request = _request(purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY)
    assert_golden("vihf_break_glass.xml", build_vihf(request, clock=clock, assertion_id="_vihf-2"))


def test_reading_returns_what_was_stated(clock: FrozenClock) -> None:
    reading = read_vihf(
        build_vihf(_request(actor=AGENT), clock=clock, assertion_id="_a"),
        now=T0,
        card_structure_id="3750100000",
        allowed_oids=frozenset({INS_TEST_OID}),
    )
    assert reading.ok
    assert reading.national_id == "3750100000/0000042"
    assert reading.auth_mode == AuthMode.INDIRECT
    assert reading.structure_id == "3750100000"
    assert reading.patient == PATIENT
    assert reading.purpose == "normal"
    assert reading.first(ATTR["lps_homologation"]) == "TEST-DMP-HOMOLOGATION"
    assert reading.first(ATTR["resource_urn"]) == "urn:dmp"
    assert reading.not_on_or_after == T0 + timedelta(seconds=300)


def test_break_glass_without_justification_is_refused(clock: FrozenClock) -> None:
    with pytest.raises(DmpRequestInvalid) as caught:
        build_vihf(_request(purpose=PurposeOfUse.BREAK_GLASS), clock=clock, assertion_id="_b")
    assert "break_glass_incomplete" in caught.value.detail
    assert caught.value.message("fr").startswith("Jeton d'accès au DMP")


def test_doctor_without_specialty_is_refused(clock: FrozenClock) -> None:
    actor = dataclasses.replace(DOCTOR, specialty=None)
    with pytest.raises(DmpRequestInvalid, match="specialty_missing"):
        build_vihf(_request(actor=actor), clock=clock, assertion_id="_c")


def test_expired_and_early_assertions_are_reported(clock: FrozenClock) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_d")
    late = read_vihf(assertion, now=T0 + timedelta(seconds=300))
    early = read_vihf(assertion, now=T0 - timedelta(minutes=5))
    assert Problem("expired", "Conditions") in late.problems
    assert Problem("not_yet_valid", "Conditions") in early.problems
    assert read_vihf(assertion, now=T0 + timedelta(seconds=299)).ok


def test_direct_mode_structure_must_be_the_cards(clock: FrozenClock) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_e")
    reading = read_vihf(assertion, card_structure_id="3130000000")
    assert reading.problems == (Problem("structure_mismatch", "Identifiant_Structure"),)


def test_production_service_refuses_test_oid(clock: FrozenClock) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_f")
    reading = read_vihf(assertion, allowed_oids=frozenset({"1.2.250.1.213.1.4.8"}))
    assert reading.problems == (Problem("oid_refused", ATTR["resource_id"]),)


@pytest.mark.parametrize(
    "attribute",
    ["VIHF_Version", "Identifiant_Structure", "Secteur_Activite", "Ressource_URN", "LPS_Nom"],
)
def test_removed_attribute_is_reported_missing(clock: FrozenClock, attribute: str) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_g")
    node = assertion.find(f".//{{{NS['saml']}}}Attribute[@Name='{attribute}']")
    assert node is not None
    node.getparent().remove(node)  # type: ignore[union-attr]
    assert Problem("missing", attribute) in read_vihf(assertion).problems


def test_role_and_purpose_are_hl7_ce_values(clock: FrozenClock) -> None:
    assertion = build_vihf(_request(), clock=clock, assertion_id="_h")
    roles = assertion.findall(f".//{{{NS['hl7']}}}Role")
    assert [(r.get("code"), r.get(f"{{{NS['xsi']}}}type")) for r in roles] == [
        ("10", "CE"),
        ("SM26", "CE"),
    ]
    assert assertion.find(f".//{{{NS['hl7']}}}PurposeOfUse").get("code") == "normal"  # type: ignore[union-attr]


def test_repr_hides_patient_and_emergency_details(clock: FrozenClock) -> None:
    request = _request(purpose=PurposeOfUse.BREAK_GLASS, emergency=EMERGENCY)
    reading = read_vihf(build_vihf(request, clock=clock, assertion_id="_i"))
    shown = repr(reading) + repr(request)
    assert "277076322082910" not in shown
    assert "TESTEUR" not in shown
    assert "inconscient" not in shown


def test_unknown_document_reports_every_missing_part() -> None:
    reading = read_vihf(etree.fromstring(b"<Assertion/>"))
    codes = {p.code for p in reading.problems}
    assert {"not_an_assertion", "missing"} <= codes
    assert not reading.ok


@given(
    purpose=st.sampled_from(list(PurposeOfUse)),
    lifetime=st.integers(min_value=1, max_value=3600),
    name=st.text(
        alphabet=st.characters(categories=("L", "Zs"), exclude_characters="\x00"),
        min_size=1,
        max_size=40,
    ).filter(str.strip),
)
def test_round_trip_over_purposes_and_lifetimes(
    purpose: PurposeOfUse, lifetime: int, name: str
) -> None:
    emergency = EMERGENCY if purpose is PurposeOfUse.BREAK_GLASS else None
    actor = dataclasses.replace(DOCTOR, display_name=name)
    request = _request(actor=actor, purpose=purpose, emergency=emergency, lifetime_s=lifetime)
    raw = etree.tostring(build_vihf(request, clock=FrozenClock(T0), assertion_id="_r"))
    reading = read_vihf(etree.fromstring(raw), now=T0)
    assert reading.ok
    assert reading.purpose == purpose.value
    assert reading.first(ATTR["subject_id"]) == name.strip()
    assert reading.not_on_or_after == T0 + timedelta(seconds=lifetime)
