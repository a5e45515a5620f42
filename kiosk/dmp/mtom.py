"""MTOM/XOP for TD2.1: the document travels as a binary MIME part, not as base64 in the XML.

IHE ITI-41 requires MTOM (ITI TF-2b §3.41.5.1): a ``multipart/related`` body whose
root part is the SOAP envelope (``application/xop+xml``) and whose other parts are the
documents, each referenced by an ``xop:Include`` in ``xds:Document``. The outbox keeps
the inline (base64) body, which is self-contained; :func:`optimise` moves each document
out when sending, so a resend is the same message. :class:`MtomSoapClient` posts such a
body with the transport's own bounds and error mapping, and reads an answer that is
itself MTOM-packaged (its root part) or plain SOAP.
"""

from __future__ import annotations

import base64
import binascii
import copy
import uuid
from dataclasses import dataclass

from lxml import etree

from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.vocabulary import NS
from kiosk.locale import msg
from kiosk.soap.envelope import Envelope, InvalidXml, serialize
from kiosk.soap.transport import SoapClient

__all__ = ["MtomSoapClient", "optimise", "package", "root_part"]

_DOCUMENT = f"{{{NS['xds']}}}Document"
_INCLUDE = f"{{{NS['xop']}}}Include"


def optimise(body: etree._Element) -> tuple[etree._Element, dict[str, bytes]]:
    """A copy of ``body`` whose base64 documents became ``xop:Include``; and the parts."""
    work = copy.deepcopy(body)
    parts: dict[str, bytes] = {}
    for document in work.iter(_DOCUMENT):
        text = (document.text or "").strip()
        if not text:
            continue
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DmpRequestInvalid(
                msg("dmp.mtom.optimise"),
                detail="base64",
            ) from exc
        # Content-ID from the entry id: the same document always gets the same part name.
        cid = f"{uuid.uuid5(uuid.NAMESPACE_URL, document.get('id', ''))}@kiosk"
        document.text = None
        etree.SubElement(document, _INCLUDE, href=f"cid:{cid}")
        parts[cid] = data
    return work, parts


def package(
    envelope: bytes, *, action: str, parts: dict[str, bytes], boundary: str
) -> tuple[str, bytes]:
    """The ``Content-Type`` header and the ``multipart/related`` body."""
    root_id = "root@kiosk"
    lines = [
        f"--{boundary}".encode(),
        b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
        b"Content-Transfer-Encoding: binary",
        f"Content-ID: <{root_id}>".encode(),
        b"",
        envelope,
    ]
    for cid, data in parts.items():
        lines += [
            f"--{boundary}".encode(),
            b"Content-Type: application/octet-stream",
            b"Content-Transfer-Encoding: binary",
            f"Content-ID: <{cid}>".encode(),
            b"",
            data,
        ]
    body = b"\r\n".join(lines) + f"\r\n--{boundary}--\r\n".encode()
    content_type = (
        f'multipart/related; type="application/xop+xml"; start="<{root_id}>"; '
        f'start-info="application/soap+xml"; boundary="{boundary}"; action="{action}"'
    )
    return content_type, body


def root_part(raw: bytes) -> bytes:
    """The root part of an MTOM answer, or ``raw`` itself when it is plain SOAP."""
    if not raw.startswith(b"--"):
        return raw
    delimiter = raw.split(b"\r\n", 1)[0]
    sections = raw.split(delimiter)
    if len(sections) < 3:
        raise InvalidXml(
            msg("dmp.mtom.root_part"),
            detail="no root part",
        )
    _, _, content = sections[1].partition(b"\r\n\r\n")
    return content.rstrip(b"\r\n")


@dataclass
class MtomSoapClient(SoapClient):
    """A SoapClient that posts ``multipart/related`` MTOM bodies (ITI-41)."""

    async def call_mtom(
        self, envelope: etree._Element, *, action: str, parts: dict[str, bytes]
    ) -> Envelope:
        """Send ``envelope`` and its binary parts; same bounds and errors as ``call``."""
        boundary = f"uuid:{uuid.uuid4()}"
        content_type, body = package(
            serialize(envelope), action=action, parts=parts, boundary=boundary
        )
        status, raw = await self.exchange(body, {"Content-Type": content_type})
        return self._interpret(status, root_part(raw))
