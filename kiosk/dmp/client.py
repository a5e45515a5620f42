"""DmpClient: the DMP transactions the kiosk uses, over an injected ``httpx.AsyncClient``.

One method per transaction (DOMAIN.md §6): TD0.2 existence + authorization + web
account, TD0.3 authorization, TD1.1 creation, TD1.5 web account, TD2.1 submission
(XDS.b ITI-41, the submission set signed in XAdES by :mod:`kiosk.dmp.xades`) and
TD3.3 attribute update (ITI-57). Every call:

* builds a fresh VIHF (never stored, DOMAIN.md §6) for the call's patient and purpose
  of use, and signs it with the session's **signature** key through
  :func:`kiosk.soap.wssec.sign_enveloped` — off the event loop, since a card takes
  100–500 ms per signature (FIELD-NOTES.md "Signatures");
* is bounded twice: the HTTP exchange by the transaction's own timeout, the whole
  call (build, sign, send, parse) by an overall deadline;
* reads the answer with the hardened parser of ``soap/envelope.py`` under a response
  size limit, and accepts it only if it answers *this* request (``wsa:RelatesTo`` and
  the HL7 acknowledgement's target are our ids, the interaction is the expected one):
  a replayed or wrapped answer to another message is refused;
* maps every refusal to a :class:`~kiosk.errors.KioskError` whose ``permanent`` flag
  tells the outbox whether sending again can help;
* is first checked against the local habilitation table (``habilitations``), for the
  profile the VIHF will state, and refused with
  :class:`~kiosk.domain.habilitation.HabilitationDenied` before anything is signed or
  sent (seed 001: a secretary never feeds the DMP with her own CPE).

:meth:`DmpClient.for_agent` gives the same client speaking for another named agent
(indirect mode, seed 000: « identification nominative »): the VIHF's subject is that
person, not the installation.

The HL7 message id of a write is the caller's ``request_id`` (the outbox's idempotency
key): the service answers a resent request with its stored answer, so a response lost
after the DMP was created never creates a second one (ARCHITECTURE.md §6).

Envelopes are built with lxml rather than zeep: the VIHF must be signed in place in
``wsse:Security`` through a PKCS#11 key, and the message ids must be ours.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

import httpx
from lxml import etree

from kiosk.clock import Clock, uuid7
from kiosk.dmp.attributes import (
    AttributeChange,
    AttributeUpdate,
    build_attribute_update,
    read_attribute_update,
)
from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.hl7v3 import V3, MessageHeader
from kiosk.dmp.mtom import MtomSoapClient, optimise
from kiosk.dmp.query import FoundDocument, build_find_documents, read_find_documents
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    ClosureRequest,
    CreationRequest,
    ExistenceQuery,
    ExistenceResponse,
    ReactivationRequest,
    Request,
    TransactionResponse,
    WebAccountRequest,
    WebCredentials,
    build_request,
    read_existence_response,
    read_transaction_response,
)
from kiosk.dmp.vihf import (
    Actor,
    AuthMode,
    EmergencyAccess,
    PurposeOfUse,
    Software,
    VihfRequest,
    build_vihf,
    issuer_of,
)
from kiosk.dmp.vocabulary import HL7V3, NS, OID
from kiosk.dmp.xades import sign_submission
from kiosk.dmp.xds import Submission, build_submission, read_registry_response
from kiosk.domain.habilitation import AuthMode as TableMode
from kiosk.domain.habilitation import DmpAction, HabilitationTable, Profile
from kiosk.domain.ins import Ins
from kiosk.errors import AccessDenied, ServiceError, Unavailable
from kiosk.locale import Message, msg
from kiosk.signing import Signer
from kiosk.soap.envelope import Envelope, build_envelope
from kiosk.soap.transport import ExchangeTimings, SoapClient
from kiosk.soap.wssec import security_header, sign_enveloped

__all__ = [
    "ACTIONS",
    "DUPLICATE",
    "TIMEOUTS_S",
    "Access",
    "ClientTimings",
    "DmpAlreadyExists",
    "DmpClient",
    "DmpMissing",
    "DmpRefused",
    "DmpSettings",
    "WrongAnswer",
    "caller_profile",
]

ACTIONS: dict[str, str] = {
    # HL7 v3 transactions: prefix + interaction id; XDS: the IHE actions (ITI TF-2b).
    "hl7": "urn:hl7-org:v3:",
    "TD2.1": "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    "TD3.3": "urn:ihe:iti:2010:UpdateDocumentSet",
    "TD3.1": "urn:ihe:iti:2007:RegistryStoredQuery",
}
"""WS-Addressing actions (verify against the GIE guide; the simulator uses the same)."""

DUPLICATE = "DUPLICATE_UNIQUE_ID"
"""``ack_code`` of a document the DMP already holds (XDSDuplicateUniqueIdInRegistry)."""

TIMEOUTS_S: dict[str, float] = {
    # A submission carries a document; an existence test is a few hundred bytes.
    "TD0.2": 10.0,
    "TD0.3": 10.0,
    "TD1.1": 20.0,
    "TD1.2": 15.0,
    "TD1.4": 15.0,
    "TD1.5": 15.0,
    "TD2.1": 60.0,
    "TD3.3": 20.0,
    "TD3.1": 20.0,
}
"""Default HTTP timeout of each transaction, in seconds."""

_ISSUER = f"{{{NS['saml']}}}Issuer"

_TABLE_ACTIONS: dict[str, DmpAction] = {
    "TD0.2": DmpAction.EXISTENCE_TEST,
    "TD0.3": DmpAction.AUTHORIZATION,
    "TD1.1": DmpAction.CREATION,
    "TD1.2": DmpAction.REACTIVATION,
    "TD1.3": DmpAction.ADMINISTRATIVE_UPDATE,
    "TD1.4": DmpAction.CLOSURE,
    "TD1.5": DmpAction.WEB_ACCOUNT,
    "TD2.1": DmpAction.SUBMISSION,
    "TD3.1": DmpAction.SEARCH,
}
"""Transaction → the habilitation table's action; TD3.3 depends on the change it carries."""
_UPDATE_ACTIONS = {
    AttributeChange.DELETE: DmpAction.DELETION,
    AttributeChange.WRONG_PATIENT: DmpAction.WRONG_RECORD_CORRECTION,
}


def caller_profile(actor: Actor, role: str) -> Profile:
    """The profile the habilitation table is asked about: what the VIHF says, and the local role."""
    g15 = actor.profession.code_system == OID["g15_profession"]
    mode = TableMode.DIRECT if actor.mode is AuthMode.DIRECT else TableMode.INDIRECT
    return Profile(actor.profession.code if g15 else "", role, mode)


class DmpRefused(ServiceError):
    """The DMP answered, and said no; ``permanent`` when sending again cannot help."""

    code = "DMP_REFUSED"
    permanent: ClassVar[bool] = True

    def __init__(
        self,
        message: Message | str,
        message_en: str | None = None,
        *,
        ack_code: str,
        detail: str = "",
    ) -> None:
        super().__init__(message, message_en, detail=detail or ack_code)
        self.ack_code = ack_code


class DmpAlreadyExists(DmpRefused):
    """TD1.1 refused: this patient already has a DMP."""

    code = "DMP_EXISTS"


class DmpMissing(DmpRefused):
    """The patient has no DMP (TD0.3, TD1.5 on an unknown record)."""

    code = "DMP_MISSING"


class WrongAnswer(DmpMessageInvalid):
    """An answer that does not answer our request (replayed, wrapped, another message's)."""

    code = "DMP_WRONG_ANSWER"


_REFUSALS: dict[str, tuple[type[DmpRefused], Message]] = {
    "DMP_EXISTANT": (DmpAlreadyExists, msg("dmp.client.already_exists")),
    "DMP_INEXISTANT": (DmpMissing, msg("dmp.client.missing")),
    "DMP_FERME": (DmpRefused, msg("dmp.client.closed")),
    "DMP_NON_FERME": (DmpRefused, msg("dmp.client.not_closed")),
    "OPPOSITION_CREATION": (DmpRefused, msg("dmp.client.opposed")),
    "MOTIF_ABSENT": (DmpRefused, msg("dmp.client.no_reason")),
}


@dataclass(frozen=True)
class Access:
    """Purpose of use of one call; « bris de glace » carries its justification (DOMAIN.md §6)."""

    purpose: PurposeOfUse = PurposeOfUse.NORMAL
    emergency: EmergencyAccess | None = None


@dataclass(frozen=True)
class DmpSettings:
    """Where the DMP is and how long each exchange may take."""

    endpoint: str
    sender_oid: str
    """OID of this installation (HL7 sender device, XDS ``sourceId``)."""
    sender_name: str = "kiosk"
    timeouts_s: dict[str, float] = field(default_factory=dict)
    """Per-transaction HTTP timeouts overriding :data:`TIMEOUTS_S`."""
    deadline_s: float = 90.0
    """Whole call: VIHF, signature (a card is slow), exchange and parsing."""
    max_response_bytes: int = 2 << 20
    """Management and registry answers are a few KB; 2 MiB is a generous ceiling."""
    mtom: bool = True
    """TD2.1 documents as MTOM/XOP binary parts (ITI-41); False sends them inline."""


@dataclass
class ClientTimings:
    """Where the client's time went, for the benchmark."""

    vihf_s: float = 0.0
    exchange: ExchangeTimings = field(default_factory=ExchangeTimings)

    def reset(self) -> None:
        """Start counting again."""
        self.vihf_s = 0.0
        self.exchange.reset()


class DmpClient:
    """The kiosk's DMP transactions, signed with one session's signature key."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        signer: Signer,
        *,
        actor: Actor,
        software: Software,
        clock: Clock,
        settings: DmpSettings,
        habilitations: HabilitationTable | None = None,
        role: str = "",
    ) -> None:
        self._signer = signer
        self.habilitations = habilitations
        """The local pre-check; None sends every call (the DMP still decides)."""
        self.role = role
        """The local role of the person the VIHF names (``admission``, ``secretary``…)."""
        # The VIHF issuer is the signing certificate's subject (the service checks it).
        self._actor = dataclasses.replace(actor, issuer=issuer_of(signer.certificate))
        self._software = software
        self._clock = clock
        self.settings = settings
        self.timings = ClientTimings()
        self._soap = {
            name: (MtomSoapClient if name == "TD2.1" else SoapClient)(
                http,
                settings.endpoint,
                "DMP",
                timeout_s=timeout,
                max_response_bytes=settings.max_response_bytes,
                timings=self.timings.exchange,
            )
            for name, timeout in (TIMEOUTS_S | settings.timeouts_s).items()
        }

    @property
    def actor(self) -> Actor:
        """Who the VIHF names."""
        return self._actor

    @property
    def profile(self) -> Profile:
        """The profile the habilitation table is asked about before each call."""
        return caller_profile(self._actor, self.role)

    def for_agent(self, national_id: str, display_name: str, *, role: str = "") -> DmpClient:
        """This client (same connection, signer, software) speaking for the named agent."""
        other = copy.copy(self)
        other._actor = dataclasses.replace(
            self._actor, national_id=national_id, display_name=display_name
        )
        other.role = role or self.role
        return other

    def check(self, name: str, body: etree._Element | None = None) -> None:
        """The local pre-check of transaction ``name``: :class:`HabilitationDenied` if refused."""
        if self.habilitations is None:
            return
        action = _TABLE_ACTIONS.get(name)
        if name == "TD3.3":
            action = DmpAction.ATTRIBUTE_UPDATE
            if body is not None:
                try:
                    change = read_attribute_update(body).change
                except DmpMessageInvalid:
                    change = AttributeChange.VISIBILITY
                action = _UPDATE_ACTIONS.get(change, DmpAction.ATTRIBUTE_UPDATE)
        if action is not None:
            self.habilitations.check(self.profile, action)

    # -- transactions ---------------------------------------------------------

    async def existence(self, patient: Ins, *, access: Access = Access()) -> ExistenceResponse:
        """TD0.2: does the DMP exist, are we authorized, is the web account open."""
        answer, message_id = await self._hl7("TD0.2", ExistenceQuery(patient), access, None)
        self._expect(answer, HL7V3["query_response"])
        response = read_existence_response(answer.payload)
        self._check_ack(response.ack.target_message_id, message_id)
        if not response.ack.accepted:
            raise _refusal(response.ack.code, response.ack.text)
        return response

    async def authorize(
        self, patient: Ins, *, request_id: str | None = None, access: Access = Access()
    ) -> None:
        """TD0.3: record the establishment's authorization the patient just gave."""
        await self._write("TD0.3", AuthorizationRequest(patient), access, request_id)

    async def create(self, request: CreationRequest, *, request_id: str) -> TransactionResponse:
        """TD1.1: create the DMP; ``request_id`` makes a resend the same request."""
        return await self._write("TD1.1", request, Access(), request_id)

    async def reactivate(self, patient: Ins, *, request_id: str | None = None) -> None:
        """TD1.2: reopen the patient's closed DMP (at their request, the patient present)."""
        await self._write("TD1.2", ReactivationRequest(patient), Access(), request_id)

    async def close(self, patient: Ins, reason: str, *, request_id: str | None = None) -> None:
        """TD1.4: close the patient's DMP at their request, with the reason they gave."""
        await self._write("TD1.4", ClosureRequest(patient, reason), Access(), request_id)

    async def open_web_account(
        self, request: WebAccountRequest, *, request_id: str | None = None
    ) -> WebCredentials:
        """TD1.5: open the patient's web account; the identifier and temporary password."""
        response = await self._write("TD1.5", request, Access(), request_id)
        if response.credentials is None:
            raise WrongAnswer(
                msg("dmp.client.dmp_client_open_web_account"),
                detail="TD1.5 without credentials",
            )
        return response.credentials

    async def submit(self, submission: Submission, *, access: Access = Access()) -> None:
        """TD2.1: provide and register one document (its uniqueId is the duplicate key)."""
        body = build_submission(submission)
        key = str(submission.entry_uuid)
        await self.send_registry("TD2.1", body, submission.cda.patient, key, access)

    async def update_attributes(
        self, update: AttributeUpdate, *, access: Access = Access()
    ) -> None:
        """TD3.3: change a stored document's visibility or status."""
        body = build_attribute_update(update)
        await self.send_registry("TD3.3", body, update.patient, str(update.update_uuid), access)

    async def find_documents(
        self, patient: Ins, *, access: Access = Access()
    ) -> tuple[FoundDocument, ...]:
        """TD3.1: the patient's documents this caller may see (ITI-18 FindDocuments)."""
        body = build_find_documents(patient)
        key = f"find:{patient.matricule.value}:{uuid7(self._clock)}"
        answer = await self._send("TD3.1", body, ACTIONS["TD3.1"], patient, access, key)
        return read_find_documents(answer.payload)

    async def send_registry(
        self,
        name: str,
        body: etree._Element,
        patient: Ins,
        key: str,
        access: Access = Access(),
    ) -> None:
        """Send a built TD2.1/TD3.3 body (as the outbox keeps it) under a fresh VIHF."""
        if name not in ("TD2.1", "TD3.3"):
            raise ValueError(f"not a registry transaction: {name}")
        self.check(name, body)  # before the submission set is signed
        parts: dict[str, bytes] = {}
        if name == "TD2.1":
            # Every submission leaves signed, a resent outbox body too; off the loop (a card).
            body = await asyncio.to_thread(sign_submission, body, self._signer)
        if name == "TD2.1" and self.settings.mtom:
            body, parts = optimise(body)  # ITI-41: the document as a binary MIME part
        answer = await self._send(name, body, ACTIONS[name], patient, access, key, parts)
        accepted, errors = read_registry_response(answer.payload)
        if not accepted:
            codes = ", ".join(code for code, _ in errors) or "?"
            duplicate = any("Duplicate" in code or "NonUnique" in code for code, _ in errors)
            raise DmpRefused(
                msg("dmp.client.dmp_client_send_registry", codes=codes),
                ack_code=DUPLICATE if duplicate else codes,
            )

    # -- plumbing -------------------------------------------------------------

    async def _write(
        self, name: str, request: Request, access: Access, request_id: str | None
    ) -> TransactionResponse:
        answer, message_id = await self._hl7(name, request, access, request_id)
        self._expect(answer, HL7V3["ack_response"])
        response = read_transaction_response(answer.payload)
        self._check_ack(response.ack.target_message_id, message_id)
        if not response.ack.accepted:
            raise _refusal(response.ack.code, response.ack.text)
        return response

    async def _hl7(
        self, name: str, request: Request, access: Access, request_id: str | None
    ) -> tuple[Envelope, str]:
        message_id = request_id or str(uuid7(self._clock))
        header = MessageHeader(
            message_id, self._clock.now(), self.settings.sender_oid, self.settings.sender_name
        )
        body = build_request(request, header, structure_id=self._actor.structure_id)
        action = ACTIONS["hl7"] + etree.QName(body).localname
        answer = await self._send(name, body, action, request.patient, access, message_id)
        return answer, message_id

    async def _send(
        self,
        name: str,
        body: etree._Element,
        action: str,
        patient: Ins,
        access: Access,
        key: str,
        parts: dict[str, bytes] | None = None,
    ) -> Envelope:
        self.check(name, body)  # before anything is signed or sent
        # The WS-Addressing id follows the request id, so a resend is recognisably the same.
        wsa_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{name}:{key}')}"
        try:
            async with asyncio.timeout(self.settings.deadline_s):
                security = await self._security(patient, access)
                envelope = build_envelope(
                    body, action=action, message_id=wsa_id, headers=[security]
                )
                soap = self._soap[name]
                if parts and isinstance(soap, MtomSoapClient):
                    answer = await soap.call_mtom(envelope, action=action, parts=parts)
                else:
                    answer = await soap.call(envelope, action=action)
        except TimeoutError as exc:
            raise Unavailable(
                msg("dmp.client.dmp_client_send"),
                detail=f"{name}: deadline {self.settings.deadline_s}s",
            ) from exc
        if answer.relates_to and answer.relates_to != wsa_id:
            raise _wrong(f"{name}: RelatesTo is another message's")
        return answer

    async def _security(self, patient: Ins, access: Access) -> etree._Element:
        started = time.perf_counter()
        try:
            vihf = build_vihf(
                VihfRequest(self._actor, self._software, patient, access.purpose, access.emergency),
                clock=self._clock,
                assertion_id=f"_{uuid7(self._clock)}",
            )
            # Off the loop: a card signs in 100-500 ms (FIELD-NOTES.md "Signatures").
            signed = await asyncio.to_thread(sign_enveloped, vihf, self._signer, after=_ISSUER)
            return security_header(signed, created=self._clock.now())
        finally:
            self.timings.vihf_s += time.perf_counter() - started

    @staticmethod
    def _expect(answer: Envelope, interaction: str) -> None:
        if answer.payload.tag != f"{V3}{interaction}":
            raise _wrong(f"expected {interaction}, got {etree.QName(answer.payload).localname}")

    @staticmethod
    def _check_ack(target: str, message_id: str) -> None:
        if target != message_id:
            raise _wrong("acknowledgement of another message")


def _wrong(detail: str) -> WrongAnswer:
    return WrongAnswer(
        msg("dmp.client.wrong"),
        detail=detail,
    )


def _refusal(code: str, text: str) -> ServiceError:
    known = _REFUSALS.get(code)
    if known is not None:
        kind, message = known
        return kind(message, ack_code=code)
    if code in {"INTERDIT", "ACCES_REFUSE", "NON_AUTORISE"}:
        return AccessDenied(
            msg("dmp.client.refusal_2"),
            detail=code,
        )
    return DmpRefused(
        msg("dmp.client.refusal", code=code),
        ack_code=code,
        detail=f"{code}: {text[:80]}",
    )
