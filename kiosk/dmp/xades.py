"""The XAdES signature of a TD2.1 submission set, carried as one more ``xds:Document``.

DOMAIN.md §6: the submission set is signed (XAdES) with ``ORG_SIGN`` or the CPS
signature key. IHE DSG makes the signature a document of the submission set with its
own DocumentEntry; here it is the lighter form the issue allows: a *detached* XAdES
over a digest manifest of the submission set, carried as an extra ``xds:Document``
(no ExtrinsicObject, so it is never stored as a patient document). The manifest binds
the submission set's uniqueId, the SHA-256 of the exclusive-c14n of the whole
``rim:RegistryObjectList`` (every entry's metadata, visibility and hash included) and
the SHA-256 of each document's bytes, so changing any of them breaks the signature.

The signature document's id is derived (UUIDv5) from the submission set's id; a body
signed again (an outbox resend) replaces it rather than adding a second one.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import uuid

from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.vocabulary import NS
from kiosk.locale import msg
from kiosk.signing import Signer
from kiosk.soap.envelope import parse_xml
from kiosk.soap.wssec import TrustAnchor, Verified, sign_xades, verify_xades

__all__ = [
    "MANIFEST_NS",
    "SignatureMismatch",
    "manifest",
    "sign_submission",
    "signature_document_id",
    "verify_submission",
]

MANIFEST_NS = "urn:kiosk:dmp:submission-signature:1"
_M = f"{{{MANIFEST_NS}}}"
_RIM = f"{{{NS['rim']}}}"
_LCM = f"{{{NS['lcm']}}}"
_XDS = f"{{{NS['xds']}}}"
_DS_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"
_MAX_SIGNATURE_BYTES = 64 * 1024


class SignatureMismatch(DmpMessageInvalid):
    """A submission whose XAdES signature is missing or does not cover what was sent."""

    code = "DMP_SUBMISSION_SIGNATURE"


def _mismatch(detail: str) -> SignatureMismatch:
    return SignatureMismatch(
        msg("dmp.xades.mismatch"),
        detail=detail,
    )


def _package_id(body: etree._Element) -> str:
    package = body.find(
        f"{_LCM}SubmitObjectsRequest/{_RIM}RegistryObjectList/{_RIM}RegistryPackage"
    )
    if package is None or not package.get("id"):
        raise _mismatch("no RegistryPackage id")
    return package.get("id", "")


def signature_document_id(body: etree._Element) -> str:
    """The id of the signature ``xds:Document``, derived from the submission set's id."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, _package_id(body) + '#xades')}"


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def manifest(body: etree._Element) -> etree._Element:
    """What the signature covers: set uniqueId, metadata digest, each document's digest."""
    objects = body.find(f"{_LCM}SubmitObjectsRequest/{_RIM}RegistryObjectList")
    if objects is None:
        raise _mismatch("no RegistryObjectList")
    skip = signature_document_id(body)
    root = etree.Element(f"{_M}SubmissionSetSignatureData", nsmap={"k": MANIFEST_NS})
    root.set("Id", "SubmissionSet")
    etree.SubElement(root, f"{_M}SubmissionSet", id=_package_id(body))
    metadata = etree.tostring(objects, method="c14n", exclusive=True, with_comments=False)
    etree.SubElement(root, f"{_M}Metadata", digest=_digest(metadata))
    for document in body.iterfind(f"{_XDS}Document"):
        ident = document.get("id", "")
        if ident == skip:
            continue
        try:
            data = base64.b64decode((document.text or "").strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _mismatch(f"document {ident[:60]} is not inline base64") from exc
        etree.SubElement(root, f"{_M}Document", id=ident, digest=_digest(data))
    return root


def sign_submission(body: etree._Element, signer: Signer) -> etree._Element:
    """A copy of an inline ITI-41 body with its XAdES signature document (blocking: a card)."""
    work = copy.deepcopy(body)
    ident = signature_document_id(work)
    for old in work.iterfind(f"{_XDS}Document[@id='{ident}']"):
        work.remove(old)
    signed = sign_xades(manifest(work), signer)
    document = etree.SubElement(work, f"{_XDS}Document", id=ident)
    document.text = base64.b64encode(etree.tostring(signed)).decode("ascii")
    return work


def verify_submission(body: etree._Element, trust: TrustAnchor) -> Verified:
    """Check an inline ITI-41 body's XAdES signature against what the body holds."""
    ident = signature_document_id(body)
    found = body.find(f"{_XDS}Document[@id='{ident}']")
    if found is None or not (found.text or "").strip():
        raise _mismatch("no signature document")
    try:
        raw = base64.b64decode((found.text or "").strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _mismatch("signature document is not base64") from exc
    verified = verify_xades(parse_xml(raw, max_bytes=_MAX_SIGNATURE_BYTES), trust)
    expected = etree.tostring(manifest(body), method="c14n", exclusive=True)
    signed = copy.deepcopy(verified.signed)
    for signature in signed.iterfind(_DS_SIGNATURE):
        signed.remove(signature)
    if etree.tostring(signed, method="c14n", exclusive=True) != expected:
        raise _mismatch("the signed manifest does not match the submission")
    return verified
