"""MTOM/XOP packaging of TD2.1: the document leaves as a binary part, read back by a MIME parser."""

from __future__ import annotations

import email.parser
import email.policy
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.dmp.errors import DmpRequestInvalid
from kiosk.dmp.mtom import optimise, package, root_part
from kiosk.dmp.vocabulary import NS
from kiosk.dmp.xds import build_submission
from kiosk.soap.envelope import InvalidXml

from .samples import sample_submission


def _parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert message.is_multipart()
    return [
        (str(part["Content-ID"]), part.get_payload(decode=True) or b"")
        for part in message.iter_parts()
    ]


def test_document_moves_to_a_binary_part_referenced_by_xop_include() -> None:
    submission = sample_submission()
    body, parts = optimise(build_submission(submission))
    include = body.find(f".//{{{NS['xds']}}}Document/{{{NS['xop']}}}Include")
    assert include is not None
    cid = include.get("href", "").removeprefix("cid:")
    assert parts == {cid: submission.document}
    again, _ = optimise(build_submission(submission))
    assert etree.tostring(again, method="c14n") == etree.tostring(body, method="c14n")


def test_package_is_readable_by_a_standard_mime_parser() -> None:
    submission = sample_submission()
    body, parts = optimise(build_submission(submission))
    envelope = etree.tostring(body)
    content_type, payload = package(
        envelope, action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", parts=parts,
        boundary=f"uuid:{uuid.uuid4()}",
    )  # fmt: skip
    assert 'type="application/xop+xml"' in content_type
    read = _parts(content_type, payload)
    assert read[0] == ("<root@kiosk>", envelope)
    assert read[1] == (f"<{next(iter(parts))}>", submission.document)


@given(
    envelope=st.binary(min_size=1, max_size=300).filter(lambda b: b"--uuid:" not in b),
    attachment=st.binary(max_size=300).filter(lambda b: b"--uuid:" not in b),
)
def test_root_part_of_any_package_is_the_envelope(envelope: bytes, attachment: bytes) -> None:
    envelope = envelope.strip(b"\r\n") or b"x"
    _, payload = package(envelope, action="a", parts={"d@k": attachment}, boundary="uuid:b")
    assert root_part(payload) == envelope


def test_plain_soap_answer_passes_through() -> None:
    assert root_part(b"<soap:Envelope/>") == b"<soap:Envelope/>"


def test_broken_multipart_answer_is_refused() -> None:
    with pytest.raises(InvalidXml):
        root_part(b"--uuid:x\r\nno end")


def test_corrupt_inline_document_is_refused_before_sending() -> None:
    body = build_submission(sample_submission())
    document = body.find(f"{{{NS['xds']}}}Document")
    assert document is not None
    document.text = "not base64 !"
    with pytest.raises(DmpRequestInvalid, match="unreadable"):
        optimise(body)
