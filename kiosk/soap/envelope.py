"""SOAP 1.2 envelopes with WS-Addressing, SOAP faults, and the one hardened XML parser.

Pure: builds and reads lxml trees, does no I/O. INSi and the DMP share it
(ARCHITECTURE.md §2 ``soap/``). Everything a remote party sends is parsed by
:func:`parse_xml`, which refuses a document before parsing when it is too large,
refuses any DTD (so no entity, no billion laughs, no external fetch), never touches
the network and keeps libxml2's ``huge_tree`` protection on (DOMAIN.md §5 "hardened
lxml parser").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from kiosk.errors import ServiceError, SoapFault
from kiosk.locale import Message, Words, msg

__all__ = [
    "DEFAULT_MAX_BYTES",
    "NS",
    "Envelope",
    "FaultInfo",
    "InvalidXml",
    "build_envelope",
    "build_fault",
    "fault_error",
    "parse_envelope",
    "parse_xml",
    "qname",
    "serialize",
]

DEFAULT_MAX_BYTES = 1 << 20
"""1 MiB: far above any INSi answer; the DMP passes its own limit for documents."""

NS: dict[str, str] = {
    "soap": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
"""The standard namespaces of the transport; services add their own."""

_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")


class InvalidXml(ServiceError):
    """A message that is not acceptable XML: malformed, hostile, too large or not SOAP."""

    code = "SOAP_INVALID_XML"


def qname(prefix: str, local: str) -> str:
    """The Clark notation ``{namespace}local`` of a prefixed name of :data:`NS`."""
    return f"{{{NS[prefix]}}}{local}"


def _invalid(reason: Message, detail: str, *, request: bool = False) -> InvalidXml:
    # A service refusing what it received says "request", a client "response".
    if request:
        return InvalidXml(msg("soap.envelope.request_unreadable", reason=reason), detail=detail)
    return InvalidXml(msg("soap.envelope.unreadable", reason=reason), detail=detail)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe and the transport parses
    # from worker threads. ``resolve_entities`` is off as a second line behind the DTD ban.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
    )


def parse_xml(
    raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, request: bool = False
) -> etree._Element:
    """Parse untrusted XML: size checked first, no DTD or entity, no network; else InvalidXml.

    ``request`` is set by a service parsing what a client sent: the error then speaks of
    an unreadable request, not of an unreadable response.
    """
    if len(raw) > max_bytes:
        raise _invalid(
            msg("soap.envelope.parse_xml"), f"{len(raw)} bytes > {max_bytes}", request=request
        )
    head = raw[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        # UTF-16/32 would hide a DOCTYPE from the byte scan below; SOAP here is UTF-8.
        raise _invalid(msg("soap.envelope.parse_xml_2"), "non UTF-8 document", request=request)
    if any(marker in raw for marker in _FORBIDDEN_MARKUP):
        raise _invalid(msg("soap.envelope.parse_xml_3"), "DOCTYPE present", request=request)
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise _invalid(msg("soap.envelope.parse_xml_6"), str(exc)[:200], request=request) from exc
    if root is None:
        raise _invalid(msg("soap.envelope.parse_xml_4"), "no root element", request=request)
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack ``doctype``
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _invalid(msg("soap.envelope.parse_xml_5"), "DTD after parse", request=request)
    return root


def serialize(element: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as sent on the wire."""
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


def build_envelope(
    body: etree._Element,
    *,
    action: str,
    message_id: str,
    headers: list[etree._Element] | None = None,
    to: str | None = None,
    relates_to: str | None = None,
) -> etree._Element:
    """A SOAP 1.2 envelope: WS-Addressing headers first, then ``headers``, then ``body``."""
    nsmap = {"soap": NS["soap"], "wsa": NS["wsa"]}
    envelope = etree.Element(qname("soap", "Envelope"), nsmap=nsmap)
    header = etree.SubElement(envelope, qname("soap", "Header"))
    etree.SubElement(header, qname("wsa", "Action")).text = action
    etree.SubElement(header, qname("wsa", "MessageID")).text = message_id
    if to is not None:
        etree.SubElement(header, qname("wsa", "To")).text = to
    if relates_to is not None:
        etree.SubElement(header, qname("wsa", "RelatesTo")).text = relates_to
    for extra in headers or []:
        header.append(extra)
    etree.SubElement(envelope, qname("soap", "Body")).append(body)
    return envelope


@dataclass(frozen=True)
class FaultInfo:
    """A SOAP 1.2 fault: ``Sender`` or ``Receiver``, the service's subcode, reasons, detail."""

    code: str
    subcode: str
    reason_fr: str
    reason_en: str
    severity: str = "erreur"
    detail_code: str = ""

    @property
    def is_sender(self) -> bool:
        """A fault of the request: sending it again unchanged fails again."""
        return self.code.endswith("Sender")


@dataclass(frozen=True)
class Envelope:
    """A parsed SOAP 1.2 message: WS-Addressing values, header blocks and the body payload."""

    action: str
    message_id: str
    relates_to: str
    headers: list[etree._Element] = field(repr=False)
    payload: etree._Element = field(repr=False)
    root: etree._Element = field(repr=False)
    fault: FaultInfo | None = None

    def header(self, tag: str) -> etree._Element | None:
        """The first header block named ``tag`` (Clark notation), if any."""
        return next((h for h in self.headers if h.tag == tag), None)


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def build_fault(fault: FaultInfo, *, fault_ns: str = "urn:siram") -> etree._Element:
    """A SOAP 1.2 Fault element (for simulators): code, subcode, FR and EN reasons, detail.

    The subcode is a QName (SOAP 1.2 Part 1 §5.4.1.3): its prefix is declared on the
    fault, a transport prefix (``wsse``, ``wsa``) for its standard namespace, any other
    (``siram``, ``dmp``) for the service's ``fault_ns``.
    """
    nsmap = {"soap": NS["soap"], "siram": fault_ns}
    prefix = fault.subcode.partition(":")[0] if ":" in fault.subcode else ""
    if prefix and prefix != "soap":
        nsmap[prefix] = NS.get(prefix, fault_ns)
    el = etree.Element(qname("soap", "Fault"), nsmap=nsmap)
    code = etree.SubElement(el, qname("soap", "Code"))
    etree.SubElement(code, qname("soap", "Value")).text = f"soap:{fault.code}"
    if fault.subcode:
        sub = etree.SubElement(code, qname("soap", "Subcode"))
        etree.SubElement(sub, qname("soap", "Value")).text = fault.subcode
    reason = etree.SubElement(el, qname("soap", "Reason"))
    for lang, text in (("fr", fault.reason_fr), ("en", fault.reason_en)):
        node = etree.SubElement(reason, qname("soap", "Text"))
        node.set(qname("xml", "lang"), lang)
        node.text = text
    detail = etree.SubElement(el, qname("soap", "Detail"))
    err = etree.SubElement(detail, f"{{{fault_ns}}}Erreur")
    err.set("severite", fault.severity)
    err.set("code", fault.detail_code or fault.subcode)
    err.text = fault.reason_fr
    return el


def _parse_fault(el: etree._Element) -> FaultInfo:
    code = _text(el, "soap:Code/soap:Value")
    subcode = _text(el, "soap:Code/soap:Subcode/soap:Value")
    reasons = {
        node.get(qname("xml", "lang"), ""): (node.text or "").strip()
        for node in el.findall("soap:Reason/soap:Text", NS)
    }
    any_reason = next(iter(reasons.values()), "")
    severity, detail_code = "erreur", ""
    detail = el.find("soap:Detail", NS)
    if detail is not None and len(detail):
        first = detail[0]
        severity = first.get("severite", severity)
        detail_code = first.get("code", "")
    return FaultInfo(
        code=code.rpartition(":")[2] or "Receiver",
        subcode=subcode,
        reason_fr=reasons.get("fr", any_reason),
        reason_en=reasons.get("en", any_reason),
        severity=severity,
        detail_code=detail_code,
    )


def parse_envelope(
    raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, request: bool = False
) -> Envelope:
    """Parse a SOAP 1.2 message through :func:`parse_xml`; a Fault body is returned, not raised."""
    root = parse_xml(raw, max_bytes=max_bytes, request=request)
    if root.tag != qname("soap", "Envelope"):
        raise _invalid(msg("soap.envelope.parse_envelope"), str(root.tag)[:80], request=request)
    header = root.find("soap:Header", NS)
    body = root.find("soap:Body", NS)
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(children) != 1:
        raise _invalid(
            msg("soap.envelope.parse_envelope_2"), f"{len(children)} elements", request=request
        )
    payload = children[0]
    fault = _parse_fault(payload) if payload.tag == qname("soap", "Fault") else None
    return Envelope(
        action=_text(header, "wsa:Action"),
        message_id=_text(header, "wsa:MessageID"),
        relates_to=_text(header, "wsa:RelatesTo"),
        headers=[h for h in header if isinstance(h.tag, str)] if header is not None else [],
        payload=payload,
        root=root,
        fault=fault,
    )


def fault_error(fault: FaultInfo, *, service: str) -> SoapFault:
    """The KioskError for a fault; a ``Receiver`` fault is transient, a ``Sender`` one is not."""
    return SoapFault(
        msg(
            "soap.envelope.refused",
            service=service,
            reason=Words(fault.reason_fr, fault.reason_en),
        ),
        fault_code=fault.detail_code or fault.subcode or fault.code,
        permanent=fault.is_sender,
        detail=f"{fault.code}/{fault.subcode} severity={fault.severity}",
    )
