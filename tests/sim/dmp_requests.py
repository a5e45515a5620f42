"""Raw requests the simulator tests and benchmarks post: MTOM, ITI-18 and ITI-43 bodies."""

from __future__ import annotations

from lxml import etree

from kiosk.dmp.vocabulary import NS
from kiosk.sim.dmp.queries import FIND_DOCUMENTS, QUERY_NS
from tests.dmp.samples import PATIENT

__all__ = ["BOUNDARY", "CONTENT_TYPE", "find_request", "multipart", "retrieve_request"]

_RIM = f"{{{NS['rim']}}}"
_XDS = f"{{{NS['xds']}}}"
_FIND, _RETRIEVE = (f"{{{QUERY_NS}}}AdhocQueryRequest", f"{_XDS}RetrieveDocumentSetRequest")

BOUNDARY = "MIMEBoundary_kiosk_0001"
CONTENT_TYPE = (
    f'multipart/related; boundary="{BOUNDARY}"; type="application/xop+xml";'
    ' start="<root.message@kiosk>"; start-info="application/soap+xml"'
)


def _part(cid: str, content_type: str, content: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
    return f"--{BOUNDARY}\r\n{head}Content-ID: <{cid}>\r\n\r\n".encode() + content + b"\r\n"


def multipart(envelope: bytes, parts: dict[str, bytes]) -> bytes:
    """An MTOM package: ``envelope`` as the XOP root part, then each part by its Content-ID."""
    root = _part(
        "root.message@kiosk",
        'application/xop+xml; charset=UTF-8; type="application/soap+xml"',
        envelope,
    )
    others = b"".join(_part(cid, "text/xml", content) for cid, content in parts.items())
    return root + others + f"--{BOUNDARY}--\r\n".encode()


def find_request() -> etree._Element:
    """ITI-18 FindDocuments for PATIENT, answered with full metadata (LeafClass)."""
    root = etree.Element(_FIND, nsmap={"query": QUERY_NS, "rim": NS["rim"]})
    etree.SubElement(root, f"{{{QUERY_NS}}}ResponseOption", returnType="LeafClass")
    query = etree.SubElement(root, f"{_RIM}AdhocQuery", id=FIND_DOCUMENTS)
    slot = etree.SubElement(query, f"{_RIM}Slot", name="$XDSDocumentEntryPatientId")
    etree.SubElement(
        etree.SubElement(slot, f"{_RIM}ValueList"), f"{_RIM}Value"
    ).text = f"'{PATIENT.hl7_cx()}'"
    return root


def retrieve_request(*unique_ids: str) -> etree._Element:
    """ITI-43 RetrieveDocumentSet for ``unique_ids`` in the DMP repository."""
    root = etree.Element(_RETRIEVE, nsmap={"xds": NS["xds"]})
    for unique_id in unique_ids:
        request = etree.SubElement(root, f"{_XDS}DocumentRequest")
        etree.SubElement(request, f"{_XDS}RepositoryUniqueId").text = "1.2.250.1.213.1.1.9"
        etree.SubElement(request, f"{_XDS}DocumentUniqueId").text = unique_id
    return root
