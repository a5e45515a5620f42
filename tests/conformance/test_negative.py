"""Negative controls: a broken copy of each kind of message fails its schema.

Without them a validator that loaded nothing, or checked laxly, would pass everything.
Each break is one a client bug could make; the issue's defects are among them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.envelope import NS

from .test_messages import GOLDEN, VECTORS, validate

V3 = "{urn:hl7-org:v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _first(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, {"hl7": V3[1:-1], **NS})
    assert found is not None, path
    return found


def _unexpected_first_child(root: etree._Element) -> None:
    target = root
    if root.tag == f"{{{NS['soap']}}}Envelope":
        target = _first(root, "soap:Body")[0]
    target.insert(0, etree.Element(f"{{{etree.QName(target).namespace}}}unexpected"))


def _drop(path: str) -> Callable[[etree._Element], None]:
    def drop(root: etree._Element) -> None:
        element = _first(root, path)
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)

    return drop


def _drop_attribute(path: str, name: str) -> Callable[[etree._Element], None]:
    def drop(root: etree._Element) -> None:
        del _first(root, path).attrib[name]

    return drop


def _attribute_ack(root: etree._Element) -> None:
    ack = _first(root, "hl7:acknowledgement")
    type_code = _first(ack, "hl7:typeCode")
    ack.remove(type_code)
    ack.set("typeCode", "AA")


def _untyped_value(root: etree._Element) -> None:
    for value in root.iter(f"{V3}value"):
        if XSI_TYPE in value.attrib:
            del value.attrib[XSI_TYPE]
            return
    raise AssertionError("no typed value")


def _foreign_attribute(root: etree._Element) -> None:
    root.set("unexpected", "1")


_PATIENT = "hl7:controlActProcess/hl7:subject/*/hl7:subject1/hl7:patient"
SPECIFIC: dict[str, tuple[str, Callable[[etree._Element], None]]] = {
    # The defects the schemas showed in the first golden files, put back one at a time.
    "ack-as-attribute": ("td1_5_web_account_response.xml", _attribute_ack),
    "existence-ack-as-attribute": ("td0_2_existence_response.xml", _attribute_ack),
    "observation-without-xsi-type": ("td1_1_creation.xml", _untyped_value),
    "attention-line-without-xsi-type": ("td1_5_web_account_response.xml", _untyped_value),
    "creation-without-provider-organization": (
        "td1_1_creation.xml",
        _drop(f"{_PATIENT}/hl7:providerOrganization"),
    ),
    "authorization-without-patient-person": (
        "td0_3_authorization.xml",
        _drop(f"{_PATIENT}/hl7:patientPerson"),
    ),
    "web-account-person-without-name": (
        "td1_5_web_account.xml",
        _drop(f"{_PATIENT}/hl7:patientPerson/hl7:name"),
    ),
    "vihf-without-issuer": ("vihf_direct.xml", _drop("saml:Issuer")),
    "envelope-foreign-attribute": ("requests/td0_2_existence.xml", _foreign_attribute),
    "vihf-in-security-without-version": (
        "requests/td1_1_creation.xml",
        _drop_attribute("soap:Header/wsse:Security/saml:Assertion", "Version"),
    ),
}


def _copy(path: Path) -> etree._Element:
    return copy.deepcopy(etree.parse(str(path)).getroot())


@pytest.mark.parametrize("path", [p for _, p in GOLDEN], ids=[f"broken-{n}" for n, _ in GOLDEN])
def test_a_broken_copy_of_each_message_fails(path: Path, checker: SchemaChecker) -> None:
    broken = _copy(path)
    _unexpected_first_child(broken)
    assert validate(checker, broken) != []


@pytest.mark.parametrize("case", sorted(SPECIFIC))
def test_each_defect_once_found_fails_again(case: str, checker: SchemaChecker) -> None:
    name, breaks = SPECIFIC[case]
    path = next(p for _, p in GOLDEN if p == VECTORS / "dmp" / name)
    intact = _copy(path)
    assert validate(checker, copy.deepcopy(intact)) == []
    breaks(intact)
    assert validate(checker, intact) != []
