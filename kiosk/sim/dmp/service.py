"""The simulated DMP: management (TD0.x, TD1.x), feeding (TD2.1, TD3.3), consultation (TD3.x).

A Starlette app (mountable through ``httpx.ASGITransport`` or served by uvicorn),
backed by one SQLite file so its state survives a restart. It enforces what the
real service enforces (DOMAIN.md §1 and §6), each refusal a SOAP fault, an HL7 ``AE``
acknowledgement or an XDS error, in this order:

* the published schemas first (:mod:`kiosk.sim.schemas`): envelope, WS-* headers, the
  VIHF and the payload, before any rule; a request they refuse gets a ``Sender`` fault
  ``dmp:RequeteNonConforme`` (the DMP's subcode for it: verify). Without the schemas
  (``schemas`` argument or ``KIOSK_SCHEMAS_DIR``) the check is off, said once in the log;
* a body of at most ``max_request_bytes``, read as a stream (a declared
  ``Content-Length`` over it is refused unread): ``dmp:MessageTropVolumineux``, 413;
* WS-Security holding a VIHF signed by a certificate of the test CA with the
  **signature** key (no non-repudiation bit: the authentication key, refused), read
  by :func:`kiosk.dmp.vihf.read_vihf` with no problem (attributes, card structure in
  direct mode, test OIDs only, validity); a seen assertion id is a replay; the VIHF's
  patient must be the message's;
* the habilitation and the access mode against the consent record
  (:mod:`kiosk.sim.dmp.access`); consultation also needs the structure's
  authorization unless an emergency mode stands in for it;
* the records (:mod:`kiosk.sim.dmp.records`), documents inline or MTOM
  (:mod:`kiosk.sim.dmp.documents`, :mod:`kiosk.sim.dmp.mtom`), search and retrieval
  (:mod:`kiosk.sim.dmp.queries`); the feeding rate (:mod:`kiosk.sim.dmp.rate`);
* a request resent with the same message id gets the stored answer (a lost response
  never creates anything twice); every call traced (:mod:`kiosk.sim.dmp.traces`).

Faults are played instead of the next answers (:meth:`DmpSimulator.inject`),
including ``lost_response``: the state changes, then the answer is lost. SQLite is
used through the standard library: a simulator's statements are microseconds long.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

from cryptography import x509
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.clock import Clock, SystemClock, uuid7
from kiosk.data import habilitations_text
from kiosk.dmp.attributes import read_attribute_update
from kiosk.dmp.hl7v3 import MessageHeader
from kiosk.dmp.transactions import (
    read_request,
)
from kiosk.dmp.vihf import VihfReading, read_vihf
from kiosk.dmp.vocabulary import ATTR, INS_TEST_OID, XDS
from kiosk.dmp.vocabulary import NS as DMP_NS
from kiosk.dmp.xds import build_registry_response
from kiosk.domain.habilitation import DmpAction, HabilitationTable
from kiosk.errors import KioskError
from kiosk.sim.body import RequestTooLarge, read_bounded
from kiosk.sim.dmp.access import (
    REQUEST_ACTIONS,
    UPDATE_ACTIONS,
    Denial,
    check_consultation,
    check_emergency,
    check_habilitation,
)
from kiosk.sim.dmp.documents import DocumentRegistry
from kiosk.sim.dmp.mtom import is_multipart, resolve_includes, split_related
from kiosk.sim.dmp.queries import QUERY_TRANSACTIONS, DocumentQueries
from kiosk.sim.dmp.rate import FeedingRate
from kiosk.sim.dmp.records import OPEN, RecordKeeper
from kiosk.sim.dmp.traces import Trace, TraceLog
from kiosk.sim.dmp.xades import check_submission_signature
from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.envelope import (
    NS,
    Envelope,
    FaultInfo,
    build_envelope,
    build_fault,
    parse_envelope,
    serialize,
)
from kiosk.soap.wssec import TrustAnchor, verify_enveloped

__all__ = ["DMP_ACTION_PREFIX", "DmpFault", "DmpSimulator", "Trace"]

DMP_ACTION_PREFIX = "urn:hl7-org:v3:"
"""WS-Addressing action = this prefix + the HL7 v3 interaction id (verify)."""

_SOAP_TYPE = "application/soap+xml; charset=utf-8"
_DOCUMENT_ACTIONS = {
    f"{{{DMP_NS['xds']}}}ProvideAndRegisterDocumentSetRequest": (XDS["action"], "TD2.1"),
    f"{{{DMP_NS['lcm']}}}SubmitObjectsRequest": ("urn:ihe:iti:2010:UpdateDocumentSet", "TD3.3"),
}
"""Document transactions: payload element → (WS-Addressing action, transaction)."""
_DEVICE = "1.2.250.1.213.4.1.1.1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS assertion_seen (id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answer (message_id TEXT PRIMARY KEY, body BLOB NOT NULL);
"""


class DmpFault(StrEnum):
    """Failures the simulator can play instead of answering."""

    HTTP_503 = "http503"
    SOAP_FAULT = "soap_fault"
    LOST_RESPONSE = "lost_response"
    """Do the work, commit, then answer 502 as a proxy whose upstream vanished."""
    LATENCY = "latency"
    """Answer normally, ``latency_s`` late: past a client's timeout, the work is done anyway.

    Connection resets are not played here (an ASGI app cannot reset its socket); tests play
    them with a raw TCP server (tests/dmp/test_client_faults.py)."""


class _Refused(Exception):
    def __init__(self, subcode: str, fr: str, en: str, *, receiver: bool = False) -> None:
        super().__init__(subcode)
        self.fault = FaultInfo("Receiver" if receiver else "Sender", subcode, fr, en)
        self.status = 503 if receiver else 400

    @classmethod
    def of(cls, denial: Denial) -> _Refused:
        return cls(denial.subcode, denial.reason_fr, denial.reason_en)


def _auth_failed(fr: str, en: str) -> _Refused:
    return _Refused("wsse:FailedAuthentication", fr, en)


class DmpSimulator:
    """The simulated service, its driver methods and its recorders."""

    def __init__(
        self,
        trust: TrustAnchor,
        database: Path,
        *,
        clock: Clock | None = None,
        allowed_oids: frozenset[str] = frozenset({INS_TEST_OID}),
        max_feeding_per_s: int = 5,
        max_request_bytes: int = 32 << 20,
        habilitations: HabilitationTable | None = None,
        schemas: Path | None = None,
    ) -> None:
        self.trust = trust
        self.max_request_bytes = max_request_bytes
        """Largest request body read (a TD2.1 carries its documents); past it, a fault."""
        self.schemas = SchemaChecker.find(schemas, service="DMP")
        """The published schemas requests are checked against; None: not checked."""
        self.habilitations = habilitations or HabilitationTable.from_toml_text(habilitations_text())
        """Who may call what; the kiosk's shipped table unless a site's is given."""
        self.clock: Clock = clock or SystemClock()
        self.allowed_oids = allowed_oids
        self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self.trace_log = TraceLog(self._db, self.clock)
        """Every call on a record, as the patient sees it."""
        self.records = RecordKeeper(self._db, self.clock)
        """TD0.2, TD0.3, TD1.1, TD1.5 on the patients' records."""
        self.documents = DocumentRegistry(self._db)
        """TD2.1 and TD3.3: ``documents.documents_for(matricule)`` shows what was stored."""
        self.queries = DocumentQueries(self._db)
        """TD3.1 search and TD3.2 retrieval, as the caller may see the documents."""
        self._faults: list[DmpFault] = []
        self.latency_s = 5.0
        """How late a ``LATENCY`` fault answers."""
        self.feeding = FeedingRate(max_feeding_per_s, self.clock)
        """The rate limit and its counters (``calls``, ``refusals``) for tests."""
        self.app = Starlette(
            routes=[
                Route("/", self._soap, methods=["POST"]),
                Route("/_sim/dmp/{matricule}", self._show_http, methods=["GET"]),
            ]
        )

    # -- driver and recorders -------------------------------------------------

    def inject(self, fault: DmpFault, count: int = 1) -> None:
        """Play ``fault`` instead of the next ``count`` answers."""
        self._faults.extend([fault] * count)

    def dmp_exists(self, matricule: str) -> bool:
        """Whether a DMP was created for this matricule."""
        return self.records.exists(matricule)

    def dmp_count(self) -> int:
        """How many DMPs the service holds (a lost response must not make two)."""
        return int(self._db.execute("SELECT COUNT(*) FROM dmp").fetchone()[0])

    def traces(self, matricule: str) -> list[Trace]:
        """Every call about this patient, oldest first."""
        return self.trace_log.for_patient(matricule)

    def show(self, matricule: str) -> dict[str, object]:
        """The stored state of one DMP, for ``kiosk sim dmp show`` (password not shown).

        Also served at ``GET /_sim/dmp/{matricule}``: a simulator-only inspection door,
        unauthenticated, which the real service has no equivalent of.
        """
        return {
            **self.records.summary(matricule),
            "documents": self.documents.summary(matricule),
            "traces": [t.__dict__ for t in self.traces(matricule)],
        }

    async def _show_http(self, request: HttpRequest) -> Response:
        return JSONResponse(self.show(request.path_params["matricule"]))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- the service ----------------------------------------------------------

    async def _soap(self, request: HttpRequest) -> Response:
        fault = self._faults.pop(0) if self._faults else None
        if fault is DmpFault.HTTP_503:
            return Response("<html><body>503 Service Unavailable</body></html>", 503)
        if fault is DmpFault.SOAP_FAULT:
            info = FaultInfo(
                "Receiver", "dmp:ErreurInterne", "Erreur interne du DMP.", "DMP error."
            )
            return self._fault(info, 500)
        try:
            raw = await read_bounded(request, self.max_request_bytes)
        except RequestTooLarge as exc:
            info = FaultInfo(
                "Sender",
                "dmp:MessageTropVolumineux",
                f"Requête trop volumineuse (plus de {exc.limit} octets).",
                f"Request too large (over {exc.limit} bytes).",
            )
            return self._fault(info, 413)
        try:
            content_type = request.headers.get("content-type", "")
            parts: dict[str, bytes] = {}
            if is_multipart(content_type):  # MTOM/XOP: the documents are MIME parts
                raw, parts = split_related(content_type, raw)
            envelope = parse_envelope(raw, request=True)
            resolve_includes(envelope.payload, parts)
            self._check_schemas(envelope)
            reading = self._check_vihf(envelope)
            answer = self._answer(envelope, reading)
        except _Refused as refused:
            return self._fault(refused.fault, refused.status)
        except KioskError as exc:
            info = FaultInfo("Sender", "dmp:MessageInvalide", exc.message_fr, exc.message_en)
            return self._fault(info, 400)
        if fault is DmpFault.LOST_RESPONSE:
            return Response("<html><body>502 Bad Gateway</body></html>", 502)
        if fault is DmpFault.LATENCY:
            await asyncio.sleep(self.latency_s)
        return Response(answer, 200, media_type=_SOAP_TYPE)

    def _fault(self, fault: FaultInfo, status: int) -> Response:
        reply = build_envelope(
            build_fault(fault, fault_ns="urn:dmp"),
            action="http://www.w3.org/2005/08/addressing/soap/fault",
            message_id=f"uuid:{uuid7(self.clock)}",
        )
        return Response(serialize(reply), status, media_type=_SOAP_TYPE)

    def _check_schemas(self, envelope: Envelope) -> None:
        if self.schemas is None:
            return
        errors = self.schemas.errors(envelope.root, envelope.payload)
        if errors:
            raise _Refused(
                "dmp:RequeteNonConforme",
                f"Requête non conforme aux schémas ({errors[0]}).",
                f"Request does not conform to the schemas ({errors[0]}).",
            )

    def _check_vihf(self, envelope: Envelope) -> VihfReading:
        security = envelope.header(f"{{{NS['wsse']}}}Security")
        token = security.find("saml:Assertion", NS) if security is not None else None
        if token is None:
            raise _auth_failed("Jeton VIHF absent.", "VIHF token missing.")
        try:
            verified = verify_enveloped(token, self.trust)
        except KioskError as exc:
            raise _auth_failed(exc.message_fr, exc.message_en) from exc
        usage = verified.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.content_commitment:
            raise _auth_failed(
                "VIHF signé avec la clé d'authentification, pas la clé de signature.",
                "VIHF signed with the authentication key, not the signature key.",
            )
        subject = verified.certificate.subject
        units = subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        reading = read_vihf(
            verified.signed,
            now=self.clock.now(),
            card_structure_id=str(units[0].value) if units else "",
            allowed_oids=self.allowed_oids,
        )
        if reading.problems:
            listing = ", ".join(f"{p.code}:{p.attribute}" for p in reading.problems)
            raise _Refused(
                "dmp:VIHFInvalide", f"VIHF refusé ({listing}).", f"VIHF refused ({listing})."
            )
        if reading.issuer != subject.rfc4514_string():
            raise _Refused(
                "dmp:VIHFInvalide",
                "L'émetteur du VIHF n'est pas le certificat signataire.",
                "The VIHF issuer is not the signing certificate.",
            )
        try:
            self._db.execute(
                "INSERT INTO assertion_seen VALUES (?, ?)",
                (reading.assertion_id, self.clock.now().isoformat()),
            )
        except sqlite3.IntegrityError as exc:
            raise _auth_failed("VIHF rejoué.", "Replayed VIHF.") from exc
        return reading

    def _answer(self, envelope: Envelope, reading: VihfReading) -> bytes:
        payload = envelope.payload
        if payload.tag in _DOCUMENT_ACTIONS:
            return self._documents(envelope, reading)
        if payload.tag in QUERY_TRANSACTIONS:
            return self._query(envelope, reading)
        header, request = read_request(payload)
        if envelope.action != DMP_ACTION_PREFIX + etree.QName(payload).localname:
            raise _Refused("wsa:ActionNotSupported", "Action inconnue.", "Unknown action.")
        if reading.patient is None or reading.patient != request.patient:
            raise _Refused(
                "dmp:VIHFInvalide",
                "Le patient du VIHF n'est pas celui de la requête.",
                "The VIHF patient is not the request's patient.",
            )
        self._admit(reading, REQUEST_ACTIONS[type(request)])
        reply = MessageHeader(
            f"{uuid7(self.clock)}", self.clock.now(), _DEVICE, "DMP", header.sender_oid
        )
        return self._transact(
            envelope,
            header.message_id,
            reading,
            lambda: self.records.apply(request, reading, reply, header.message_id),
        )

    def _documents(self, envelope: Envelope, reading: VihfReading) -> bytes:
        action, transaction = _DOCUMENT_ACTIONS[envelope.payload.tag]
        if envelope.action != action:
            raise _Refused("wsa:ActionNotSupported", "Action inconnue.", "Unknown action.")
        if transaction == "TD2.1":
            self._admit(reading, DmpAction.SUBMISSION)
        else:
            change = read_attribute_update(envelope.payload).change
            self._admit(reading, UPDATE_ACTIONS.get(change, DmpAction.ATTRIBUTE_UPDATE))
        self._count_feeding(reading)

        def work() -> tuple[etree._Element, str, str]:
            if transaction == "TD2.1":
                now = self.clock.now().isoformat()
                refusal = check_submission_signature(envelope.payload, self.trust)
                result = refusal or self.documents.submit(envelope.payload, reading, now)
            else:
                result = self.documents.update(envelope.payload, reading)
            return build_registry_response(result.errors), result.outcome, transaction

        return self._transact(envelope, envelope.message_id, reading, work)

    def _query(self, envelope: Envelope, reading: VihfReading) -> bytes:
        action, transaction = QUERY_TRANSACTIONS[envelope.payload.tag]
        if envelope.action != action:
            raise _Refused("wsa:ActionNotSupported", "Action inconnue.", "Unknown action.")
        self._admit(reading, DmpAction(transaction))
        matricule = reading.patient.matricule.value if reading.patient else ""
        is_open = self.records.status(matricule) == OPEN
        authorized = self.records.authorized(matricule, reading.structure_id)
        denial = check_consultation(reading, is_open=is_open, authorized=authorized)
        if denial is not None:
            self._refuse(reading, transaction, denial)

        def work() -> tuple[etree._Element, str, str]:
            return self.queries.answer(envelope.payload, reading)

        return self._transact(envelope, envelope.message_id, reading, work)

    def _admit(self, reading: VihfReading, action: DmpAction) -> None:
        """Refuse a caller without the habilitation, or an access mode the patient refused."""
        denial = check_habilitation(self.habilitations, reading, action)
        if denial is None and reading.patient is not None:
            record = self.records.patient_file(reading.patient.matricule.value)
            denial = check_emergency(reading, record)
        if denial is not None:
            self._refuse(reading, action.value, denial)

    def _refuse(self, reading: VihfReading, transaction: str, denial: Denial) -> NoReturn:
        # An authenticated attempt the rules refuse is still a call on the record: the
        # patient sees it (DOMAIN.md §1), a refused « bris de glace » above all.
        matricule = reading.patient.matricule.value if reading.patient else ""
        self.trace_log.record(matricule, transaction, reading, f"refused:{denial.subcode}")
        raise _Refused.of(denial)

    def _count_feeding(self, reading: VihfReading) -> None:
        # Seed 000: fewer than 5 feeding transactions per second per establishment +
        # software; over that the service answers with its own fault (retryable).
        if not self.feeding.admit((reading.structure_id, reading.first(ATTR["lps_homologation"]))):
            raise _Refused(
                "dmp:LimiteDebitAtteinte",
                "Trop de transactions d'alimentation par seconde.",
                "Too many feeding transactions per second.",
                receiver=True,
            )

    def _transact(
        self,
        envelope: Envelope,
        key: str,
        reading: VihfReading,
        work: Callable[[], tuple[etree._Element, str, str]],
    ) -> bytes:
        """Run ``work`` in one SQLite transaction with its trace; a resent ``key`` replays."""
        stored = self._db.execute("SELECT body FROM answer WHERE message_id = ?", (key,)).fetchone()
        if stored is not None:
            return bytes(stored[0])
        matricule = reading.patient.matricule.value if reading.patient else ""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            body, outcome, transaction = work()
            self.trace_log.record(matricule, transaction, reading, outcome)
            wire = serialize(
                build_envelope(
                    body,
                    action=f"{envelope.action}Response",
                    message_id=f"uuid:{uuid7(self.clock)}",
                    relates_to=envelope.message_id,
                )
            )
            self._db.execute("INSERT INTO answer VALUES (?, ?)", (key, wire))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return wire
