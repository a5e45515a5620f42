"""The published XML schemas a simulated service checks each request against.

The real DMP and INSi refuse a message their schemas refuse, before any business rule;
the simulators do the same, so a client bug can no longer pass the tests. The schemas
are public files kept *beside* the checkout (``../shared/schemas``, provenance in its
README), never copied into the project: a simulator finds them through a path argument
or :data:`SCHEMAS_ENV`; without them (the appliance image has none) it runs with
validation off and says so once in the log.

Which schema validates which message (:data:`PAYLOADS`):

* the SOAP 1.2 envelope with WS-Addressing, WS-Security (``wsu:Timestamp``) and the
  SAML 2.0 assertion (VIHF, INSi assertion) with its XML-DSig signature: one schema
  composed of the W3C and OASIS files (:data:`ENVELOPE_IMPORTS`);
* HL7 v3 NE2008: PRPA_IN201307UV02 (TD0.2) and MCCI_IN000002UV01 (acknowledgements)
  by their own schemas; PRPA_IN201308UV02, PRPA_IN201311UV02 and PRPA_IN201314UV02
  have no public schema and are checked against their nearest sibling
  (:data:`SIBLINGS`) after :func:`sibling_copy`;
* IHE XDS.b ProvideAndRegister and RetrieveDocumentSet, ebRS lcm/query/rs;
* the CDA R2 carried base64 inside a ProvideAndRegister, against CDA.xsd.

INSi bodies (CNAM) have no public schema: only their envelope is checked.

Schemas are compiled once per process (:func:`compiled`), a few hundred ms in all.
"""

from __future__ import annotations

import base64
import copy
import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = [
    "ENVELOPE_IMPORTS",
    "PAYLOADS",
    "SCHEMAS_ENV",
    "SIBLINGS",
    "SchemaChecker",
    "compiled",
    "sibling_copy",
]

_log = logging.getLogger(__name__)
_DIGITS = re.compile(r"[0-9]{6,}")

SCHEMAS_ENV = "KIOSK_SCHEMAS_DIR"
"""Environment variable naming the folder of the published schemas (``shared/schemas``)."""

_HL7 = "urn:hl7-org:v3"
_GEMATIK_HL7 = "gematik/ext/HL7V3/NE2008/multicacheschemas"
_CONNECT_HL7 = "connect/src/main/resources/schemas/HL7V3/NE2008/multicacheschemas"
_XDS = "urn:ihe:iti:xds-b:2007"
_XDS_FILE = "gematik/ext/IHE/XDS.b_DocumentRepository.xsd"
_LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
_QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
_RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"

ENVELOPE_IMPORTS: tuple[tuple[str, str], ...] = (
    # The xml namespace first, from a local file: soap-envelope.xsd names the w3.org
    # copy, and the first import of a namespace wins (no network is ever used).
    ("http://www.w3.org/XML/1998/namespace", "gematik/ext/xml.xsd"),
    ("http://www.w3.org/2003/05/soap-envelope", "w3c-soap12/soap-envelope.xsd"),
    ("http://www.w3.org/2005/08/addressing", "gematik/ext/ws-addr.xsd"),
    (
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
        "gematik/ext/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    ),
    ("urn:oasis:names:tc:SAML:2.0:assertion", "gematik/ext/saml-schema-assertion-2.0.xsd"),
    # HL7 v3 data types: the VIHF's role and purpose of use are ``xsi:type="CE"`` values,
    # and a lax body is still checked wherever an ``xsi:type`` names a type.
    ("urn:hl7-org:v3", "gematik/ext/HL7V3/NE2008/coreschemas/infrastructureRoot.xsd"),
)
"""Namespace → schema file composed into the envelope schema (headers checked laxly)."""

PAYLOADS: dict[str, str] = {
    f"{{{_HL7}}}PRPA_IN201307UV02": f"{_CONNECT_HL7}/PRPA_IN201307UV02.xsd",
    f"{{{_HL7}}}MCCI_IN000002UV01": f"{_GEMATIK_HL7}/MCCI_IN000002UV01.xsd",
    f"{{{_HL7}}}PRPA_IN201308UV02": f"{_GEMATIK_HL7}/PRPA_IN201310UV02.xsd",
    f"{{{_HL7}}}PRPA_IN201311UV02": f"{_GEMATIK_HL7}/PRPA_IN201301UV02.xsd",
    f"{{{_HL7}}}PRPA_IN201314UV02": f"{_GEMATIK_HL7}/PRPA_IN201302UV02.xsd",
    f"{{{_XDS}}}ProvideAndRegisterDocumentSetRequest": _XDS_FILE,
    f"{{{_XDS}}}RetrieveDocumentSetRequest": _XDS_FILE,
    f"{{{_XDS}}}RetrieveDocumentSetResponse": _XDS_FILE,
    f"{{{_LCM}}}SubmitObjectsRequest": "gematik/ext/ebRS/lcm.xsd",
    f"{{{_QUERY}}}AdhocQueryRequest": "gematik/ext/ebRS/query.xsd",
    f"{{{_QUERY}}}AdhocQueryResponse": "gematik/ext/ebRS/query.xsd",
    f"{{{_RS}}}RegistryResponse": "gematik/ext/ebRS/rs.xsd",
    f"{{{_HL7}}}ClinicalDocument": "cda/schema/normative/infrastructure/cda/CDA.xsd",
}
"""Payload element → the schema (under the schemas folder) that validates it."""

SIBLINGS: dict[str, str] = {
    "PRPA_IN201308UV02": "PRPA_IN201310UV02",
    "PRPA_IN201311UV02": "PRPA_IN201301UV02",
    "PRPA_IN201314UV02": "PRPA_IN201302UV02",
}
"""Interactions without a public schema → the NE2008 sibling that stands in for it."""


def sibling_copy(message: etree._Element) -> etree._Element:
    """A copy of ``message`` in its sibling's shape, to validate against the sibling's schema.

    Only what the sibling fixes changes: the root's name; for the requests (whose
    siblings are notifications, MFMI_MT700701UV01) the ``registrationRequest`` (RQO)
    becomes a ``registrationEvent`` (EVN) and gains the ``custodian`` a notification
    must name. The wrapper, the attention lines, the acknowledgement and the patient
    payload are validated exactly as sent.
    """
    local = etree.QName(message).localname
    sibling = SIBLINGS.get(local)
    twin = copy.deepcopy(message)
    if sibling is None:
        return twin
    twin.tag = f"{{{_HL7}}}{sibling}"
    for request in twin.iterfind(f"{{{_HL7}}}controlActProcess/{{{_HL7}}}subject/"
                                 f"{{{_HL7}}}registrationRequest"):  # fmt: skip
        request.tag = f"{{{_HL7}}}registrationEvent"
        request.set("moodCode", "EVN")
        custodian = etree.SubElement(request, f"{{{_HL7}}}custodian", typeCode="CST")
        entity = etree.SubElement(custodian, f"{{{_HL7}}}assignedEntity", classCode="ASSIGNED")
        etree.SubElement(entity, f"{{{_HL7}}}id", nullFlavor="NA")
        subject1 = request.find(f"{{{_HL7}}}subject1")
        if subject1 is not None:  # custodian follows subject1 (and author) in the sequence
            subject1.addnext(custodian)
    return twin


def _schema_parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


@functools.cache
def compiled(root: Path, relative: str) -> etree.XMLSchema:
    """The schema ``root/relative`` compiled, once per process."""
    path = root / relative
    return etree.XMLSchema(etree.parse(str(path), _schema_parser()))


@functools.cache
def _envelope_schema(root: Path) -> etree.XMLSchema:
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(root / rel).as_uri()}"/>'
        for ns, rel in ENVELOPE_IMPORTS
    )
    text = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'targetNamespace="urn:kiosk:schemas:envelope">{imports}</xs:schema>'
    )
    document = etree.fromstring(text.encode(), _schema_parser(), base_url=root.as_uri() + "/")
    return etree.XMLSchema(document)


def _errors(schema: etree.XMLSchema, element: etree._Element, what: str) -> list[str]:
    if schema.validate(etree.ElementTree(copy.deepcopy(element))):
        return []
    log: Any = schema.error_log  # iterable; lxml-stubs say otherwise
    # Values may be a NIR or a name: long digit runs are masked, the rest names the place.
    return [f"{what}: line {e.line}: {_DIGITS.sub('…', e.message)}" for e in log][:5]


@dataclass(frozen=True)
class SchemaChecker:
    """Validation of received envelopes against the schemas under ``root``."""

    root: Path

    @classmethod
    def find(cls, path: Path | None = None, *, service: str) -> SchemaChecker | None:
        """The checker of ``path`` or :data:`SCHEMAS_ENV`; None (and one warning) without."""
        if path is None:
            named = os.environ.get(SCHEMAS_ENV, "")
            path = Path(named) if named else None
        if path is None or not (path / "w3c-soap12" / "soap-envelope.xsd").is_file():
            _log.warning(
                "schema validation off for the simulated %s: no schemas (set %s)",
                service,
                SCHEMAS_ENV,
            )
            return None
        return cls(path.resolve())

    def envelope_errors(self, envelope: etree._Element) -> list[str]:
        """What the SOAP/WS-Addressing/WS-Security/SAML schemas refuse in ``envelope``."""
        return _errors(_envelope_schema(self.root), envelope, "envelope")

    def payload_errors(self, payload: etree._Element) -> list[str]:
        """What the payload's schema (or its sibling's) refuses; [] for a body without one."""
        relative = PAYLOADS.get(str(payload.tag))
        if relative is None:
            return []
        local = etree.QName(payload).localname
        errors = _errors(compiled(self.root, relative), sibling_copy(payload), local)
        for document in payload.iterfind(f"{{{_XDS}}}Document"):
            errors += self._cda_errors(document)
        return errors

    def _cda_errors(self, document: etree._Element) -> list[str]:
        try:
            cda = etree.fromstring(base64.b64decode(document.text or ""), _schema_parser())
        except (ValueError, etree.XMLSyntaxError):
            return []  # not XML: a signature or a PDF; its own checks judge it
        if cda.tag != f"{{{_HL7}}}ClinicalDocument":
            return []
        relative = PAYLOADS[cda.tag]
        return _errors(compiled(self.root, relative), cda, "ClinicalDocument")

    def errors(self, envelope: etree._Element, payload: etree._Element) -> list[str]:
        """Everything the schemas refuse in a received envelope and its payload."""
        return self.envelope_errors(envelope) + self.payload_errors(payload)
