"""The kiosk's XML builders and the golden files, validated against the published schemas.

Each golden file of ``tests/vectors/`` and each builder's output is validated with
``lxml.etree.XMLSchema``: HL7 v3 interactions with no public schema against their
NE2008 sibling (the test id says ``against-sibling``), the VIHF and the INSi assertion
against SAML 2.0 (with the HL7 data types their attribute values use), the CDA against
CDA R2, the ITI-41 against XDS.b (and the CDA inside it), TD3.3 against ebRS lcm.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from kiosk.sim.schemas import PAYLOADS, SchemaChecker
from kiosk.soap.envelope import NS

from .traffic import label, problems

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
_ASSERTION = f"{{{NS['saml']}}}Assertion"
_ENVELOPE = f"{{{NS['soap']}}}Envelope"


def _golden() -> list[tuple[str, Path]]:
    found = []
    for path in [*sorted((VECTORS / "dmp").rglob("*.xml")), VECTORS / "insi" / "assertion.xml"]:
        root = etree.parse(str(path)).getroot()
        if root.tag == _ENVELOPE:
            body = root.find("soap:Body", NS)
            assert body is not None
            kind = f"envelope-{label(body[0])}"
        elif root.tag == _ASSERTION:
            kind = "saml-Assertion"
        else:
            kind = label(root)
        found.append((f"{path.relative_to(VECTORS)}-{kind}", path))
    return found


GOLDEN = _golden()


def validate(checker: SchemaChecker, root: etree._Element) -> list[str]:
    """Whatever the schemas refuse in a golden file, whichever kind of message it is."""
    if root.tag == _ENVELOPE:
        # Registry requests in the golden files are MTOM: the document is a part there.
        for include in root.iter("{http://www.w3.org/2004/08/xop/include}Include"):
            parent = include.getparent()
            assert parent is not None
            parent.remove(include)
            parent.text = "JVBERi0xLjQK"
        return problems(checker, root)
    if root.tag == _ASSERTION:
        return checker.envelope_errors(root)
    assert str(root.tag) in PAYLOADS, f"no schema for {root.tag}"
    return checker.payload_errors(root)


@pytest.mark.parametrize("path", [p for _, p in GOLDEN], ids=[name for name, _ in GOLDEN])
def test_golden_file_is_schema_valid(path: Path, checker: SchemaChecker) -> None:
    assert validate(checker, etree.parse(str(path)).getroot()) == []


def test_every_dmp_golden_file_is_covered() -> None:
    covered = {p for _, p in GOLDEN}
    assert set((VECTORS / "dmp").rglob("*.xml")) <= covered
    assert len(covered) >= 20
