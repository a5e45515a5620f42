"""INSi messages: pure builders of requests and headers, and the parser of ``RESULTAT``.

Layout follows public INSi clients' recorded exchanges where they show it
(``RECSANSVITALE``, ``ContexteLPS``, ``ContexteBAM``, ``RESULTAT``); the Vitale search
and the verification are built the same way, under names marked **verify** in
:mod:`kiosk.insi.protocol`. Nothing here does I/O; the clock values and ids come in
as arguments so golden files in ``tests/vectors/insi/`` can pin the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from kiosk.errors import InvalidInput
from kiosk.insi.protocol import INSI, InsiProtocol, ResultCode
from kiosk.insi.results import InsiIdentity, InsiIns, InsiResult, InsiTraits
from kiosk.locale import msg
from kiosk.signing import SignerIdentity
from kiosk.soap.envelope import NS, InvalidXml, qname

__all__ = [
    "LpsIdentity",
    "assertion",
    "bam_context",
    "lps_context",
    "parse_result",
    "traits_request",
    "verify_request",
    "vitale_request",
]

_TIME = "%Y-%m-%dT%H:%M:%S.000Z"


@dataclass(frozen=True)
class LpsIdentity:
    """The software as INSi knows it: CNDA authorisation, name, version, installation id."""

    authorisation: str
    name: str
    version: str
    instance: str


def _sub(parent: etree._Element, ns: str, local: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{local}")
    if text is not None:
        el.text = text
    return el


def lps_context(
    lps: LpsIdentity, *, emitter: str, message_id: str, now: datetime, p: InsiProtocol = INSI
) -> etree._Element:
    """The mandatory ``ContexteLPS`` header (DOMAIN.md §4)."""
    ns = p.ns_ctxlps
    ctx = etree.Element(f"{{{ns}}}ContexteLPS", nsmap={"ctxlps": ns})
    ctx.set("Nature", p.ctxlps_nature)
    ctx.set("Version", p.ctxlps_version)
    _sub(ctx, ns, "Id", message_id)
    _sub(ctx, ns, "Temps", now.strftime(_TIME))
    _sub(ctx, ns, "Emetteur", emitter)
    soft = _sub(ctx, ns, "LPS")
    _sub(soft, ns, "IDAM", lps.authorisation).set("R", p.idam_r)
    _sub(soft, ns, "Version", lps.version)
    _sub(soft, ns, "Instance", lps.instance)
    _sub(soft, ns, "Nom", f"{p.lps_name_prefix}{lps.name}:{lps.version}")
    return ctx


def bam_context(
    *, emitter: str, message_id: str, now: datetime, p: InsiProtocol = INSI
) -> etree._Element:
    """The mandatory ``ContexteBAM`` header; ``COUVERTURE`` stays empty as in public clients."""
    ns = p.ns_ctxbam
    ctx = etree.Element(f"{{{ns}}}ContexteBAM", nsmap={"ctxbam": ns})
    ctx.set("Version", p.ctxbam_version)
    _sub(ctx, ns, "Id", message_id)
    _sub(ctx, ns, "Temps", now.strftime(_TIME))
    _sub(ctx, ns, "Emetteur", emitter)
    _sub(ctx, ns, "COUVERTURE")
    return ctx


def assertion(
    who: SignerIdentity,
    *,
    issuer: str,
    structure_id: str,
    assertion_id: str,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=5),
) -> etree._Element:
    """The unsigned SAML 2.0 assertion naming the caller (CPE holder or establishment).

    Its attribute set is the part of the VIHF that INSi reads (**verify**); it is signed
    per call and never stored (a short-lived credential, DOMAIN.md §6).
    """
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    el = etree.Element(qname("saml", "Assertion"), nsmap={"saml": NS["saml"]})
    el.set("ID", assertion_id)
    el.set("Version", "2.0")
    el.set("IssueInstant", now.strftime(fmt))
    _sub(el, NS["saml"], "Issuer", issuer)
    subject = _sub(el, NS["saml"], "Subject")
    _sub(subject, NS["saml"], "NameID", who.national_id)
    cond = _sub(el, NS["saml"], "Conditions")
    cond.set("NotBefore", now.strftime(fmt))
    cond.set("NotOnOrAfter", (now + lifetime).strftime(fmt))
    attrs = _sub(el, NS["saml"], "AttributeStatement")
    for name, value in (("Identifiant_Structure", structure_id), ("Nom", who.display_name)):
        attr = _sub(attrs, NS["saml"], "Attribute")
        attr.set("Name", name)
        _sub(attr, NS["saml"], "AttributeValue", value)
    return el


def traits_request(traits: InsiTraits, given_name: str, p: InsiProtocol = INSI) -> etree._Element:
    """``RECSANSVITALE`` with *one* given name, as the service requires (DOMAIN.md §4)."""
    ns = p.ns_recsans
    el = etree.Element(f"{{{ns}}}{p.el_traits}", nsmap={"insi_recsans_ins": ns})
    _sub(el, ns, "NomNaissance", traits.family_name)
    _sub(el, ns, "Prenom", given_name)
    _sub(el, ns, "Sexe", traits.sex)
    _sub(el, ns, "DateNaissance", traits.birth_date)
    if traits.birth_place:
        _sub(el, ns, "LieuNaissance", traits.birth_place)
    return el


def vitale_request(
    *, insured_nir: str, birth_date: str, birth_rank: int | None, p: InsiProtocol = INSI
) -> etree._Element:
    """``RECVITALE``: the beneficiary as the card designates it (insured NIR, birth date, rank)."""
    ns = p.ns_recvit
    el = etree.Element(f"{{{ns}}}{p.el_vitale}", nsmap={"insi_recvit_ins": ns})
    _sub(el, ns, "NirOuvrantDroit", insured_nir)
    _sub(el, ns, "DateNaissance", birth_date)
    _sub(el, ns, "RangNaissance", str(birth_rank or 1))
    return el


def verify_request(ins: InsiIns, traits: InsiTraits, p: InsiProtocol = INSI) -> etree._Element:
    """``VERIFICATION`` of a known INS against its traits."""
    ns = p.ns_verif
    el = etree.Element(f"{{{ns}}}{p.el_verify}", nsmap={"insi_verif_ins": ns})
    ident = _sub(el, ns, "IdIndividu")
    _sub(ident, ns, "NumIdentifiant", ins.matricule[:13])
    _sub(ident, ns, "Cle", ins.matricule[13:])
    _sub(el, ns, "OID", ins.oid)
    _sub(el, ns, "NomNaissance", traits.family_name)
    _sub(el, ns, "Prenom", traits.given_names[0])
    _sub(el, ns, "Sexe", traits.sex)
    _sub(el, ns, "DateNaissance", traits.birth_date)
    if traits.birth_place:
        _sub(el, ns, "LieuNaissance", traits.birth_place)
    return el


def _broken(what: str) -> InvalidXml:
    return InvalidXml(
        msg("insi.messages.broken"),
        detail=what,
    )


def _req(parent: etree._Element, path: str, ns: dict[str, str]) -> str:
    found = parent.find(path, ns)
    if found is None or not (found.text or "").strip():
        raise _broken(f"missing {path}")
    return (found.text or "").strip()


def _ins(node: etree._Element, ns: dict[str, str]) -> InsiIns:
    number = _req(node, "r:IdIndividu/r:NumIdentifiant", ns)
    key = _req(node, "r:IdIndividu/r:Cle", ns)
    kind_el = node.find("r:IdIndividu/r:TypeMatricule", ns)
    kind = (kind_el.text or "NIR").strip() if kind_el is not None else "NIR"
    if len(number) != 13 or len(key) != 2:
        raise _broken("matricule shape")
    return InsiIns(matricule=number + key, oid=_req(node, "r:OID", ns), kind=kind)


def parse_result(payload: etree._Element, p: InsiProtocol = INSI) -> InsiResult:
    """The ``RESULTAT`` body as an :class:`InsiResult`; anything unexpected is InvalidXml."""
    ns = {"r": p.ns_resultat}
    if payload.tag != f"{{{p.ns_resultat}}}RESULTAT":
        raise _broken(f"unexpected body {str(payload.tag)[:80]}")
    raw_code = _req(payload, "r:CR/r:CodeCR", ns)
    try:
        code = ResultCode(raw_code)
    except ValueError as exc:
        raise _broken(f"unknown CodeCR {raw_code[:8]}") from exc
    label_el = payload.find("r:CR/r:LibelleCR", ns)
    label = (label_el.text or "").strip() if label_el is not None else ""
    people = payload.findall("r:INDIVIDU", ns)
    if code is not ResultCode.ONE:
        # With 01 or 02 no identity is taken, even if the service sent some: the agent
        # refines the search instead (never an automatic pick).
        return InsiResult(code=code, label=label)
    if len(people) != 1:
        raise _broken(f"CodeCR 00 with {len(people)} INDIVIDU")
    person = people[0]
    active = person.find("r:INSACTIF", ns)
    tiq = person.find("r:TIQ", ns)
    if active is None or tiq is None:
        raise _broken("INSACTIF or TIQ missing")
    place_el = tiq.find("r:LieuNaissance", ns)
    place = (place_el.text or "").strip() if place_el is not None else ""
    try:
        traits = InsiTraits.create(
            family_name=_req(tiq, "r:NomNaissance", ns),
            given_names=_req(tiq, "r:ListePrenom", ns),
            sex=_req(tiq, "r:Sexe", ns),
            birth_date=_req(tiq, "r:DateNaissance", ns),
            birth_place=place or None,
        )
    except InvalidInput as exc:
        raise _broken(f"traits rejected: {exc.detail}") from exc
    history = tuple(_ins(h, ns) for h in person.findall("r:INSHISTO", ns))
    return InsiResult(
        code=code, label=label, identity=InsiIdentity(_ins(active, ns), traits, history)
    )
