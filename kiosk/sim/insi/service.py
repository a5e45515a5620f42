"""The simulated INSi teleservice: a Starlette app behaving as DOMAIN.md §4 describes.

Written from the domain reference, not from our client, so that the client's mistakes
show: it reads requests with its own paths and answers with its own ``RESULTAT``.
What it enforces, each answered by a SOAP fault when missing:

* a well-formed, non-hostile SOAP 1.2 envelope with a known WS-Addressing action;
* the published schemas (:mod:`kiosk.sim.schemas`) before any rule: the envelope, the
  WS-* headers and the SAML assertion (CNAM publishes no body schema); a request they
  refuse gets ``siram:RequeteNonConforme`` (verify). Without the schemas (``schemas``
  argument or ``KIOSK_SCHEMAS_DIR``) the check is off, said once in the log;
* the ``ContexteLPS`` (authorisation number, instance, version) and ``ContexteBAM`` headers;
* a body of at most ``max_request_bytes``, read as a stream (a declared
  ``Content-Length`` over it is refused unread): ``siram:MessageTropVolumineux``, 413;
* a ``wsse:Security`` header holding a SAML assertion signed by a certificate of the
  test CA, within its validity window, never seen before (a replayed request):
  ``wsse:FailedAuthentication`` otherwise.

It answers ``00`` (one identity with its history), ``01`` (none) or ``02`` (several,
and then no identity, as the agent must refine) from the fictitious population of
``data/insi_population.toml``. Faults can be injected for the next calls
(:meth:`InsiSimulator.inject`, or ``POST /_sim/fault`` over HTTP) and every call is
recorded (:attr:`InsiSimulator.calls`) so tests assert what the service saw.

It stays one module (a little over 450 lines): the request checks, the population and
the answers are one teleservice's behaviour, read top to bottom against DOMAIN.md §4.
"""

from __future__ import annotations

import asyncio
import time
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.clock import Clock, SystemClock, uuid7
from kiosk.domain.ins import StrictTraits
from kiosk.errors import KioskError
from kiosk.insi.protocol import INSI, InsiProtocol, ResultCode
from kiosk.sim.body import RequestTooLarge, read_bounded
from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.envelope import (
    DEFAULT_MAX_BYTES,
    NS,
    Envelope,
    FaultInfo,
    build_envelope,
    build_fault,
    parse_envelope,
    serialize,
)
from kiosk.soap.wssec import TrustAnchor, verify_enveloped

__all__ = [
    "POPULATION_FILE",
    "Call",
    "InsiSimulator",
    "SimFault",
    "SimPerson",
    "load_population",
]

POPULATION_FILE = Path(__file__).parents[1] / "data" / "insi_population.toml"
_SOAP_TYPE = "application/soap+xml; charset=utf-8"
_SKEW = timedelta(seconds=60)
"""Clock difference tolerated between a kiosk and the service."""


class SimFault(StrEnum):
    """Failures the simulator can play instead of answering."""

    TIMEOUT = "timeout"
    """Hold the request for ``delay_s`` before answering normally."""
    HTTP_500 = "http500"
    """A bare 503 page, no SOAP."""
    SOAP_FAULT = "soap_fault"
    """A ``Receiver`` SOAP fault (service-side error)."""
    MALFORMED = "malformed"
    """A truncated XML answer."""
    HOSTILE = "hostile"
    """An answer carrying a DTD with nested entities (billion laughs)."""
    HUGE = "huge"
    """A syntactically valid answer of several megabytes."""


@dataclass(frozen=True)
class SimPerson:
    """One fictitious person INSi knows."""

    matricule: str
    kind: str
    family_name: str
    given_names: tuple[str, ...]
    sex: str
    birth_date: str
    birth_place: str
    insured_nir: str = field(repr=False)
    birth_rank: int
    history: tuple[str, ...] = ()
    note: str = ""

    def __repr__(self) -> str:
        return f"SimPerson({self.family_name[:1]}…, {self.matricule[:1]}…{self.matricule[13:]})"

    def traits(self) -> StrictTraits:
        """The five strict traits INSi returns for this person."""
        return StrictTraits.create(
            self.family_name,
            self.given_names,
            date.fromisoformat(self.birth_date),
            self.sex,
            self.birth_place,
        )


def load_population(path: Path = POPULATION_FILE) -> tuple[str, tuple[SimPerson, ...]]:
    """The OID and the people of a population file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    people = tuple(
        SimPerson(
            matricule=row["matricule"],
            kind=row["kind"],
            family_name=row["family_name"],
            given_names=tuple(row["given_names"].split()),
            sex=row["sex"],
            birth_date=row["birth_date"],
            birth_place=row["birth_place"],
            insured_nir=row["insured_nir"],
            birth_rank=int(row["birth_rank"]),
            history=tuple(row.get("history", ())),
            note=row.get("note", ""),
        )
        for row in data["person"]
    )
    return str(data["oid"]), people


class _Refused(Exception):
    """A request the service answers with a fault."""

    def __init__(self, fault: FaultInfo, status: int = 400) -> None:
        super().__init__(fault.subcode)
        self.fault = fault
        self.status = status


def _sender(subcode: str, fr: str, en: str) -> _Refused:
    return _Refused(FaultInfo("Sender", subcode, fr, en, severity="erreur"))


@dataclass
class Call:
    """What one request was and how it was answered (a recorder for tests)."""

    operation: str
    outcome: str
    emitter: str = ""


class InsiSimulator:
    """The simulated service and its driver methods."""

    def __init__(
        self,
        trust: TrustAnchor,
        *,
        clock: Clock | None = None,
        population: Path = POPULATION_FILE,
        protocol: InsiProtocol = INSI,
        delay_s: float = 30.0,
        schemas: Path | None = None,
        max_request_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.trust = trust
        self.max_request_bytes = max_request_bytes
        """Largest request body read; past it (declared or streamed), a fault."""
        self._seen: dict[str, datetime] = {}
        """Assertion id → end of its validity: a signed request is accepted once."""
        self.schemas = SchemaChecker.find(schemas, service="INSi")
        """The published schemas requests are checked against; None: not checked."""
        self.clock: Clock = clock or SystemClock()
        self.oid, self.people = load_population(population)
        self.p = protocol
        self.delay_s = delay_s
        self.calls: list[Call] = []
        self.busy_s = 0.0
        """Time spent answering (parse, signature check, search), for benchmarks."""
        self._faults: list[SimFault] = []
        self.app = Starlette(
            routes=[
                Route("/", self._soap, methods=["POST"]),
                Route("/_sim/fault", self._inject_http, methods=["POST"]),
                Route("/_sim/calls", self._calls_http, methods=["GET"]),
            ]
        )

    # -- driver --------------------------------------------------------------

    def inject(self, fault: SimFault, count: int = 1) -> None:
        """Play ``fault`` instead of the next ``count`` answers."""
        self._faults.extend([fault] * count)

    def person(self, matricule: str) -> SimPerson:
        """The person with this active matricule (for tests)."""
        return next(p for p in self.people if p.matricule == matricule)

    async def _inject_http(self, request: Request) -> Response:
        data = await request.json()
        try:
            fault = SimFault(str(data.get("fault")))
        except ValueError:
            return JSONResponse({"error": f"faults: {[f.value for f in SimFault]}"}, 400)
        self.inject(fault, int(data.get("count", 1)))
        return JSONResponse({"queued": [f.value for f in self._faults]})

    async def _calls_http(self, request: Request) -> Response:
        return JSONResponse([c.__dict__ for c in self.calls])

    # -- the service ---------------------------------------------------------

    async def _soap(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await self._answer_request(request)
        finally:
            self.busy_s += time.perf_counter() - started

    async def _answer_request(self, request: Request) -> Response:
        if self._faults:
            fault = self._faults.pop(0)
            self.calls.append(Call("?", f"fault:{fault.value}"))
            if fault is SimFault.TIMEOUT:
                await asyncio.sleep(self.delay_s)
            else:
                return _play(fault)
        try:
            raw = await read_bounded(request, self.max_request_bytes)
        except RequestTooLarge as exc:
            self.calls.append(Call("?", "refused:siram:MessageTropVolumineux"))
            info = FaultInfo(
                "Sender",
                "siram:MessageTropVolumineux",
                f"Requête trop volumineuse (plus de {exc.limit} octets).",
                f"Request too large (over {exc.limit} bytes).",
                severity="erreur",
            )
            return self._fault_response(info, 413)
        try:
            envelope = parse_envelope(raw, request=True)
            self._check_schemas(envelope)
            operation = self._operation(envelope)
            emitter = self._check_headers(envelope)
            self._check_security(envelope)
            body = self._answer(operation, envelope.payload)
        except _Refused as refused:
            self.calls.append(Call("?", f"refused:{refused.fault.subcode}"))
            return self._fault_response(refused.fault, refused.status)
        except KioskError as exc:  # unreadable request (InvalidXml)
            self.calls.append(Call("?", f"refused:{exc.code}"))
            info = FaultInfo("Sender", "siram:MessageInvalide", exc.message_fr, exc.message_en)
            return self._fault_response(info, 400)
        code = body.findtext(f"{{{self.p.ns_resultat}}}CR/{{{self.p.ns_resultat}}}CodeCR") or ""
        self.calls.append(Call(operation, code, emitter))
        reply = build_envelope(
            body,
            action=f"{self.p.action(operation)}Response",
            message_id=f"uuid:{uuid7(self.clock)}",
            relates_to=envelope.message_id,
        )
        return Response(serialize(reply), 200, media_type=_SOAP_TYPE)

    def _fault_response(self, fault: FaultInfo, status: int) -> Response:
        reply = build_envelope(
            build_fault(fault, fault_ns=self.p.ns_siram),
            action="http://www.w3.org/2005/08/addressing/soap/fault",
            message_id=f"uuid:{uuid7(self.clock)}",
        )
        return Response(serialize(reply), status, media_type=_SOAP_TYPE)

    def _check_schemas(self, envelope: Envelope) -> None:
        if self.schemas is None:
            return
        errors = self.schemas.errors(envelope.root, envelope.payload)
        if errors:
            raise _sender(
                "siram:RequeteNonConforme",
                f"Requête non conforme aux schémas ({errors[0]}).",
                f"Request does not conform to the schemas ({errors[0]}).",
            )

    def _operation(self, envelope: Envelope) -> str:
        ops = {self.p.op_traits, self.p.op_vitale, self.p.op_verify}
        for op in ops:
            if envelope.action == self.p.action(op):
                return op
        raise _sender(
            "wsa:ActionNotSupported",
            "Action WS-Addressing inconnue.",
            "Unknown WS-Addressing action.",
        )

    def _check_headers(self, envelope: Envelope) -> str:
        lps = envelope.header(f"{{{self.p.ns_ctxlps}}}ContexteLPS")
        bam = envelope.header(f"{{{self.p.ns_ctxbam}}}ContexteBAM")
        if bam is None:
            raise _sender("siram:ContexteBAMAbsent", "Contexte BAM absent.", "BAM context missing.")
        if lps is None:
            raise _sender("siram:ContexteLPSAbsent", "Contexte LPS absent.", "LPS context missing.")
        ns = {"c": self.p.ns_ctxlps}
        for path in ("c:LPS/c:IDAM", "c:LPS/c:Instance", "c:LPS/c:Version"):
            if not (lps.findtext(path, namespaces=ns) or "").strip():
                name = path.rpartition(":")[2]
                raise _sender(
                    "siram:ContexteLPSInvalide",
                    f"Contexte LPS incomplet ({name}).",
                    f"Incomplete LPS context ({name}).",
                )
        return (lps.findtext("c:Emetteur", namespaces=ns) or "").strip()

    def _check_security(self, envelope: Envelope) -> None:
        security = envelope.header(f"{{{NS['wsse']}}}Security")
        token = security.find("saml:Assertion", NS) if security is not None else None
        if token is None:
            raise _sender(
                "wsse:FailedAuthentication",
                "Assertion d'authentification absente.",
                "Authentication assertion missing.",
            )
        try:
            verified = verify_enveloped(token, self.trust).signed
        except KioskError as exc:
            raise _sender("wsse:FailedAuthentication", exc.message_fr, exc.message_en) from exc
        cond = verified.find("saml:Conditions", NS)
        now = self.clock.now()
        try:
            start = datetime.fromisoformat(cond.get("NotBefore", "")) if cond is not None else None
            end = datetime.fromisoformat(cond.get("NotOnOrAfter", "")) if cond is not None else None
        except ValueError:
            start = end = None
        if start is None or end is None or not start - _SKEW <= now < end:
            raise _sender(
                "wsse:FailedAuthentication",
                "Assertion expirée ou pas encore valide.",
                "Assertion expired or not yet valid.",
            )
        # A signed request sent again byte for byte carries the same assertion: refused
        # within its validity, as the DMP does (after it, the expiry above refuses it).
        self._seen = {key: until for key, until in self._seen.items() if until > now}
        assertion_id = verified.get("ID", "")
        if not assertion_id or assertion_id in self._seen:
            raise _sender("wsse:FailedAuthentication", "Assertion rejouée.", "Replayed assertion.")
        self._seen[assertion_id] = end

    # -- answers -------------------------------------------------------------

    def _answer(self, operation: str, payload: etree._Element) -> etree._Element:
        if operation == self.p.op_traits:
            return self._search_traits(payload)
        if operation == self.p.op_vitale:
            return self._search_vitale(payload)
        return self._verify(payload)

    def _fields(self, payload: etree._Element, ns: str, expected: str) -> dict[str, str]:
        if payload.tag != f"{{{ns}}}{expected}":
            raise _sender(
                "siram:MessageInvalide", "Corps de requête inattendu.", "Unexpected request body."
            )
        return {
            etree.QName(child).localname: (child.text or "").strip()
            for child in payload.iter()
            if child is not payload and isinstance(child.tag, str)
        }

    def _need(self, fields: dict[str, str], *names: str) -> None:
        missing = [n for n in names if not fields.get(n)]
        if missing:
            raise _sender(
                "siram:DonneeObligatoireAbsente",
                f"Donnée obligatoire absente : {', '.join(missing)}.",
                f"Mandatory data missing: {', '.join(missing)}.",
            )

    def _search_traits(self, payload: etree._Element) -> etree._Element:
        f = self._fields(payload, self.p.ns_recsans, self.p.el_traits)
        self._need(f, "NomNaissance", "Prenom", "Sexe", "DateNaissance")
        if len(f["Prenom"].split()) != 1:
            # One given name per call (DOMAIN.md §4).
            raise _sender(
                "siram:PrenomInvalide",
                "Un seul prénom par recherche.",
                "One given name per search.",
            )
        found = [
            p
            for p in self.people
            if p.family_name == f["NomNaissance"]
            and f["Prenom"] in p.given_names
            and p.sex == f["Sexe"]
            and p.birth_date == f["DateNaissance"]
            and (not f.get("LieuNaissance") or p.birth_place == f["LieuNaissance"])
        ]
        return self._resultat(found)

    def _search_vitale(self, payload: etree._Element) -> etree._Element:
        f = self._fields(payload, self.p.ns_recvit, self.p.el_vitale)
        self._need(f, "NirOuvrantDroit", "DateNaissance")
        rank = int(f.get("RangNaissance") or 1)
        found = [
            p
            for p in self.people
            if p.insured_nir == f["NirOuvrantDroit"]
            and p.birth_date == f["DateNaissance"]
            and p.birth_rank == rank
        ]
        return self._resultat(found)

    def _verify(self, payload: etree._Element) -> etree._Element:
        f = self._fields(payload, self.p.ns_verif, self.p.el_verify)
        self._need(f, "NumIdentifiant", "Cle", "OID", "NomNaissance", "Prenom", "Sexe")
        matricule = f["NumIdentifiant"] + f["Cle"]
        found = [
            p
            for p in self.people
            if p.matricule == matricule
            and f["OID"] == self.oid
            and p.family_name == f["NomNaissance"]
            and f["Prenom"] in p.given_names
            and p.sex == f["Sexe"]
            and p.birth_date == f.get("DateNaissance", p.birth_date)
        ]
        return self._resultat(found)

    def _resultat(self, found: list[SimPerson]) -> etree._Element:
        ns = self.p.ns_resultat
        root = etree.Element(f"{{{ns}}}RESULTAT", nsmap={None: ns})  # type: ignore[dict-item]
        cr = etree.SubElement(root, f"{{{ns}}}CR")
        code = (
            ResultCode.NONE
            if not found
            else ResultCode.ONE
            if len(found) == 1
            else ResultCode.SEVERAL
        )
        labels = {
            ResultCode.ONE: "OK",
            ResultCode.NONE: "Aucune identite trouvee",
            ResultCode.SEVERAL: "Plusieurs identites trouvees",
        }
        etree.SubElement(cr, f"{{{ns}}}CodeCR").text = code.value
        etree.SubElement(cr, f"{{{ns}}}LibelleCR").text = labels[code]
        if code is ResultCode.ONE:
            root.append(self._individu(found[0]))
        return root

    def _individu(self, person: SimPerson) -> etree._Element:
        ns = self.p.ns_resultat

        def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
            el = etree.SubElement(parent, f"{{{ns}}}{name}")
            el.text = text
            return el

        def ins(parent: etree._Element, tag: str, matricule: str, kind: str) -> None:
            node = sub(parent, tag)
            ident = sub(node, "IdIndividu")
            sub(ident, "NumIdentifiant", matricule[:13])
            sub(ident, "Cle", matricule[13:])
            sub(ident, "TypeMatricule", kind)
            sub(node, "OID", self.oid)

        individu = etree.Element(f"{{{ns}}}INDIVIDU")
        ins(individu, "INSACTIF", person.matricule, person.kind)
        for old in person.history:
            ins(individu, "INSHISTO", old, "NIR")
        tiq = sub(individu, "TIQ")
        sub(tiq, "NomNaissance", person.family_name)
        sub(tiq, "ListePrenom", " ".join(person.given_names))
        sub(tiq, "Sexe", person.sex)
        sub(tiq, "DateNaissance", person.birth_date)
        sub(tiq, "LieuNaissance", person.birth_place)
        return individu


def _play(fault: SimFault) -> Response:
    soap = f"<soap:Envelope xmlns:soap='{NS['soap']}'><soap:Body>"
    if fault is SimFault.HTTP_500:
        return Response("<html><body>503 Service Unavailable</body></html>", 503)
    if fault is SimFault.SOAP_FAULT:
        info = FaultInfo(
            "Receiver",
            "siram:ErreurInterne",
            "Erreur interne du service INSi.",
            "INSi internal error.",
            severity="fatale",
        )
        envelope = build_envelope(
            build_fault(info), action="fault", message_id="uuid:fault", relates_to=None
        )
        return Response(serialize(envelope), 500, media_type=_SOAP_TYPE)
    if fault is SimFault.MALFORMED:
        return Response(soap + "<RESULTAT><CR><CodeCR>00</Cod", 200, media_type=_SOAP_TYPE)
    if fault is SimFault.HOSTILE:
        lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        dtd = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>'
        return Response(dtd + soap + "&l9;</soap:Body></soap:Envelope>", 200, media_type=_SOAP_TYPE)
    filler = "<x>" + "A" * 1024 + "</x>"
    return Response(
        soap + filler * 4096 + "</soap:Body></soap:Envelope>", 200, media_type=_SOAP_TYPE
    )
