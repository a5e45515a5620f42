"""WS-Security: a signed SAML 2.0 assertion in a ``wsse:Security`` header, and its verification.

Signatures are enveloped XML-DSig, exclusive c14n + RSA-SHA256 (DOMAIN.md §6), made
by signxml *through the* :class:`~kiosk.signing.Signer` *port*: signxml builds
``SignedInfo`` and canonicalises it, and the bytes it would sign go to
``Signer.sign`` — an in-process key, SoftHSM2 or a CPS card alike (FIELD-NOTES.md
"Signatures"). The same code signs the INSi assertion and the DMP's VIHF.

XAdES (``sign_xades``/``verify_xades``) is XAdES-BES over the same port, for the
DMP's signed submission sets (DOMAIN.md §6, TD2.1): signxml adds the
``SignedProperties`` (signing time, signing certificate digest). Its verification also
demands the certificate's *non-repudiation* usage: a signature made with an
authentication key is refused, as the DMP does.

Verification is pinned: the certificate carried in ``KeyInfo`` must be issued by the
trusted CA (or be exactly the pinned certificate) and be valid now; only
``VerifyResult.signed_xml`` is returned, so callers never read unsigned content.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from lxml import etree

from kiosk.errors import AccessDenied
from kiosk.locale import Message, msg
from kiosk.signing import Signer
from kiosk.soap.envelope import NS, qname

__all__ = [
    "IssuedBy",
    "Pinned",
    "SignatureRejected",
    "TrustAnchor",
    "Verified",
    "security_header",
    "sign_enveloped",
    "sign_xades",
    "verify_enveloped",
    "verify_xades",
]


class SignatureRejected(AccessDenied):
    """A signature that does not verify, or whose certificate is not trusted."""

    code = "SIGNATURE_REJECTED"


def _rejected(reason: Message, detail: str = "") -> SignatureRejected:
    return SignatureRejected(
        msg("soap.wssec.rejected", reason=reason), detail=detail or reason.text("en")
    )


class _PortKey:
    """Looks like a ``cryptography`` RSA key to signxml, signs through the Signer port."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self.key_size = signer.certificate.public_key().key_size  # type: ignore[union-attr]

    def sign(self, data: bytes, padding: object, algorithm: object) -> bytes:
        # signxml asks for RSASSA-PKCS1-v1_5 SHA-256, the only scheme the port offers.
        return self._signer.sign(data)


@dataclass(frozen=True)
class _Signxml:
    """signxml, loaded with the first signature or verification, not with the desk.

    (Its import is ~1.3 MiB and ~20 ms a desk waiting for its first agent does not need.)
    """

    module: Any
    xades: Any
    invalid: tuple[type[Exception], ...]
    """What signxml raises for a signature or an input it refuses."""
    invalid_input: type[Exception]


@functools.cache
def _signxml() -> _Signxml:
    import signxml
    import signxml.xades
    from signxml.exceptions import InvalidInput, InvalidSignature

    return _Signxml(signxml, signxml.xades, (InvalidSignature, InvalidInput), InvalidInput)


def _algorithms() -> dict[str, Any]:
    """RSA-SHA256, SHA-256 digests, exclusive c14n: the only ones the DMP and INSi take."""
    sx = _signxml().module
    return {
        "signature_algorithm": sx.SignatureMethod.RSA_SHA256,
        "digest_algorithm": sx.DigestAlgorithm.SHA256,
        "c14n_algorithm": sx.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    }


def _signxml_signer() -> Any:
    return _signxml().module.XMLSigner(**_algorithms())


def sign_enveloped(
    element: etree._Element, signer: Signer, *, after: str | None = None
) -> etree._Element:
    """A signed copy of ``element`` (which carries an ``ID`` or ``Id``), signature inside it.

    ``after`` names (Clark notation) the child the signature must follow, e.g.
    ``saml:Issuer`` as the SAML schema requires; otherwise it goes last.
    """
    if element.get("ID") is None and element.get("Id") is None:
        raise ValueError("the signed element needs an ID attribute for the reference")
    work = etree.fromstring(etree.tostring(element))
    placeholder = etree.Element(qname("ds", "Signature"), nsmap={"ds": NS["ds"]})
    placeholder.set("Id", "placeholder")
    anchor = work.find(after) if after is not None else None
    if anchor is not None:
        anchor.addnext(placeholder)
    else:
        work.append(placeholder)
    try:
        signed: etree._Element = _signxml_signer().sign(
            work,
            key=_PortKey(signer),
            cert=[signer.certificate],
        )
    except _signxml().invalid_input as exc:  # a programming error, not a user's
        raise ValueError(f"cannot sign element: {exc}") from exc
    return signed


def security_header(
    *tokens: etree._Element, created: datetime, lifetime: timedelta = timedelta(minutes=5)
) -> etree._Element:
    """A ``wsse:Security`` header: a ``wsu:Timestamp``, then the tokens (a signed assertion)."""
    security = etree.Element(
        qname("wsse", "Security"), nsmap={"wsse": NS["wsse"], "wsu": NS["wsu"]}
    )
    security.set(qname("soap", "mustUnderstand"), "true")
    stamp = etree.SubElement(security, qname("wsu", "Timestamp"))
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    etree.SubElement(stamp, qname("wsu", "Created")).text = created.strftime(fmt)
    etree.SubElement(stamp, qname("wsu", "Expires")).text = (created + lifetime).strftime(fmt)
    for token in tokens:
        security.append(token)
    return security


class TrustAnchor:
    """Decides whether the certificate that signed a message is trusted."""

    def check(self, certificate: x509.Certificate) -> None:
        """Return if trusted, else raise :class:`SignatureRejected`."""
        raise NotImplementedError


@dataclass(frozen=True)
class Pinned(TrustAnchor):
    """Trust exactly one certificate (a service's signing certificate)."""

    certificate: x509.Certificate

    def check(self, certificate: x509.Certificate) -> None:
        if certificate != self.certificate:
            raise _rejected(msg("soap.wssec.pinned_check"))


@dataclass(frozen=True)
class IssuedBy(TrustAnchor):
    """Trust certificates issued directly by one of ``cas`` and valid at ``now()``."""

    cas: tuple[x509.Certificate, ...]
    now: Callable[[], datetime]

    def check(self, certificate: x509.Certificate) -> None:
        moment = self.now()
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            raise _rejected(msg("soap.wssec.issued_by_check_2"))
        for ca in self.cas:
            if certificate.issuer != ca.subject:
                continue
            try:
                certificate.verify_directly_issued_by(ca)
            except (InvalidSignature, ValueError, TypeError) as exc:
                raise _rejected(
                    msg("soap.wssec.issued_by_check_3"),
                    detail=type(exc).__name__,
                ) from exc
            return
        raise _rejected(
            msg("soap.wssec.issued_by_check"),
            detail=certificate.issuer.rfc4514_string()[:120],
        )


def _key_info_certificate(element: etree._Element) -> x509.Certificate:
    found = element.find(".//ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if found is None or not (found.text or "").strip():
        raise _rejected(msg("soap.wssec.key_info_certificate"))
    try:
        der = base64.b64decode("".join((found.text or "").split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise _rejected(msg("soap.wssec.key_info_certificate_2")) from exc


@dataclass(frozen=True)
class Verified:
    """What a verified signature vouches for: the signed element and its certificate."""

    signed: etree._Element
    certificate: x509.Certificate


def verify_enveloped(element: etree._Element, trust: TrustAnchor) -> Verified:
    """Verify the enveloped signature of ``element``; return only what was signed."""
    certificate = _key_info_certificate(element)
    trust.check(certificate)
    try:
        result = (
            _signxml().module.XMLVerifier().verify(etree.tostring(element), x509_cert=certificate)
        )
    except _signxml().invalid as exc:
        raise _rejected(msg("soap.wssec.verify_enveloped_3"), detail=str(exc)[:200]) from exc
    if isinstance(result, list):  # only with expect_references > 1, which is not asked
        raise _rejected(msg("soap.wssec.verify_enveloped"))
    signed = result.signed_xml
    if signed is None:
        raise _rejected(msg("soap.wssec.verify_enveloped_2"))
    return Verified(signed=signed, certificate=certificate)


def sign_xades(element: etree._Element, signer: Signer) -> etree._Element:
    """A XAdES-BES enveloped signature of ``element`` (which carries an ``Id``), via the port."""
    if element.get("Id") is None:
        raise ValueError("the signed element needs an Id attribute for the reference")
    work = etree.fromstring(etree.tostring(element))
    xades: Any = _signxml().xades.XAdESSigner(**_algorithms())
    try:
        # No KeyValue: the port exposes no key object, and the certificate carries it.
        signed: etree._Element = xades.sign(
            work, key=_PortKey(signer), cert=[signer.certificate], always_add_key_value=False
        )
    except _signxml().invalid_input as exc:  # a programming error, not a user's
        raise ValueError(f"cannot sign element: {exc}") from exc
    return signed


@functools.cache
def _xades_config() -> Any:
    """What the XAdES verifier expects.

    The signer canonicalises unreferenced-transform references (SignedProperties,
    KeyInfo) with exclusive c14n; the verifier must expect the same, and only RSA-SHA256.
    """
    sx = _signxml()
    return sx.xades.XAdESSignatureConfiguration(
        default_reference_c14n_method=sx.module.CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        signature_methods=frozenset({sx.module.SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({sx.module.DigestAlgorithm.SHA256}),
    )


def verify_xades(element: etree._Element, trust: TrustAnchor) -> Verified:
    """Verify a XAdES signature made with a *signature* key; return only the signed element."""
    certificate = _key_info_certificate(element)
    trust.check(certificate)
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        non_repudiation = usage.content_commitment
    except x509.ExtensionNotFound:
        non_repudiation = False
    if not non_repudiation:
        raise _rejected(
            msg("soap.wssec.verify_xades"),
        )
    try:
        results = (
            _signxml()
            .xades.XAdESVerifier()
            .verify(etree.tostring(element), x509_cert=certificate, expect_config=_xades_config())
        )
    except _signxml().invalid as exc:
        raise _rejected(msg("soap.wssec.verify_xades_3"), detail=str(exc)[:200]) from exc
    # The data reference comes first; SignedProperties and KeyInfo follow it.
    signed = next(
        (
            r.signed_xml
            for r in results
            if r.signed_xml is not None and r.signed_xml.tag == element.tag
        ),
        None,
    )
    if signed is None:
        raise _rejected(msg("soap.wssec.verify_xades_2"))
    return Verified(signed=signed, certificate=certificate)
