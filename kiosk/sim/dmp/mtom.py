"""MTOM/XOP requests to the simulated DMP: a ``multipart/related`` body, the document as a part.

IHE ITI-41 over SOAP 1.2 sends the documents of a Provide and Register as MIME parts
(ITI TF-2x Appendix V, W3C XOP): the root part is the envelope
(``application/xop+xml``), and each ``xds:Document`` holds an ``xop:Include`` whose
``href="cid:…"`` names its part. The simulator splits the body by hand, byte-exact
(the document's SHA-1 and size in the metadata must match what was sent), then puts
each referenced part back into its ``xds:Document`` as base64, so the rest of the
service reads MTOM and inline requests alike. Limits: at most :data:`MAX_PARTS` parts;
the envelope part goes through the hardened parser like any request.
"""

from __future__ import annotations

import base64
from email.message import Message
from urllib.parse import unquote

from lxml import etree

from kiosk.dmp.vocabulary import NS
from kiosk.errors import InvalidInput

__all__ = ["MAX_PARTS", "MtomInvalid", "is_multipart", "resolve_includes", "split_related"]

MAX_PARTS = 16
"""One envelope and a few documents; more is not a kiosk's submission."""


class MtomInvalid(InvalidInput):
    """A multipart request that cannot be read as MTOM/XOP."""

    code = "DMP_MTOM_INVALID"


def _invalid(detail: str) -> MtomInvalid:
    return MtomInvalid("Requête MTOM illisible.", "Unreadable MTOM request.", detail=detail[:200])


def is_multipart(content_type: str) -> bool:
    """Whether the request is ``multipart/related`` (MTOM) rather than a plain envelope."""
    return content_type.strip().lower().startswith("multipart/related")


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def split_related(content_type: str, body: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The root part (the envelope) and the other parts by Content-ID (without ``<>``)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    start = header.get_param("start")
    if not isinstance(boundary, str) or not boundary:
        raise _invalid("no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise _invalid("no closing delimiter")
    if len(chunks) - 2 > MAX_PARTS:
        raise _invalid(f"more than {MAX_PARTS} parts")
    parts: dict[str, bytes] = {}
    order: list[str] = []
    root_type: dict[str, str] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise _invalid("malformed part framing")
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise _invalid("part without headers")
        fields = _headers(head)
        if fields.get("content-transfer-encoding", "binary").lower() not in {
            "binary",
            "8bit",
            "7bit",
        }:
            raise _invalid("unsupported transfer encoding")
        cid = fields.get("content-id", "").strip().strip("<>")
        if not cid or cid in parts:
            raise _invalid("part without a unique Content-ID")
        parts[cid] = content
        order.append(cid)
        root_type[cid] = fields.get("content-type", "")
    root_id = start.strip().strip("<>") if isinstance(start, str) and start else order[0]
    if root_id not in parts or not root_type[root_id].lower().startswith("application/xop+xml"):
        raise _invalid("no application/xop+xml root part")
    return parts.pop(root_id), parts


def resolve_includes(payload: etree._Element, parts: dict[str, bytes]) -> None:
    """Replace each ``xds:Document/xop:Include`` by its part, base64 as an inline document."""
    include_tag = f"{{{NS['xop']}}}Include"
    for document in payload.iterfind(f"{{{NS['xds']}}}Document"):
        for include in document.findall(include_tag):
            href = include.get("href", "")
            cid = unquote(href[4:]) if href.startswith("cid:") else ""
            if cid not in parts:
                raise _invalid(f"xop:Include names no part ({href[:60]})")
            document.remove(include)
            document.text = base64.b64encode(parts[cid]).decode("ascii")
    if payload.find(f".//{include_tag}") is not None:
        raise _invalid("xop:Include outside an xds:Document")
