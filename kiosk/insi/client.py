"""InsiClient: the three INSi operations over the shared SOAP plumbing.

Each call builds its body and the mandatory ``ContexteLPS``/``ContexteBAM`` headers,
signs a fresh SAML assertion through the session's :class:`~kiosk.signing.Signer`
(off the event loop: a CPS card takes 100–500 ms, FIELD-NOTES.md), wraps everything in
a SOAP 1.2 envelope with WS-Addressing and WS-Security, and parses ``RESULTAT``.
Failures arrive as KioskErrors from :class:`~kiosk.soap.transport.SoapClient`.

The search with traits sends one given name per call and tries each given name in
turn (DOMAIN.md §4): it stops at the first ``00`` or ``02``; a ``02`` is returned as it
is, for the agent to refine the search (never an automatic pick).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from lxml import etree

from kiosk.clock import Clock, IdFactory
from kiosk.insi.messages import (
    LpsIdentity,
    assertion,
    bam_context,
    lps_context,
    parse_result,
    traits_request,
    verify_request,
    vitale_request,
)
from kiosk.insi.protocol import INSI, InsiProtocol, ResultCode
from kiosk.insi.results import InsiIns, InsiResult, InsiTraits
from kiosk.locale import msg
from kiosk.signing import Signer
from kiosk.soap.envelope import NS, InvalidXml, build_envelope, qname
from kiosk.soap.transport import SoapClient
from kiosk.soap.wssec import security_header, sign_enveloped

__all__ = ["InsiClient", "SigningTimings"]


@dataclass
class SigningTimings:
    """Time spent building and signing requests (for the benchmark)."""

    sign_s: float = 0.0
    calls: int = 0


@dataclass
class InsiClient:
    """Search an INS by Vitale data or by traits, and verify a known INS."""

    soap: SoapClient
    signer: Signer
    lps: LpsIdentity
    structure_id: str
    clock: Clock
    protocol: InsiProtocol = INSI
    timings: SigningTimings = field(default_factory=SigningTimings)

    def __post_init__(self) -> None:
        self._ids = IdFactory(self.clock)

    def build(self, operation: str, body: etree._Element) -> etree._Element:
        """The complete signed envelope of one call (public for golden tests)."""
        now = self.clock.now()
        emitter = self.signer.identity.national_id
        message_id = str(self._ids.new())
        token = assertion(
            self.signer.identity,
            issuer=self.signer.certificate.subject.rfc4514_string(),
            structure_id=self.structure_id,
            assertion_id=f"_{self._ids.new().hex}",
            now=now,
        )
        signed = sign_enveloped(token, self.signer, after=qname("saml", "Issuer"))
        headers = [
            bam_context(emitter=emitter, message_id=str(self._ids.new()), now=now, p=self.protocol),
            lps_context(
                self.lps, emitter=emitter, message_id=str(self._ids.new()), now=now, p=self.protocol
            ),
            security_header(signed, created=now),
        ]
        return build_envelope(
            body,
            action=self.protocol.action(operation),
            message_id=f"uuid:{message_id}",
            headers=headers,
        )

    async def _exchange(self, operation: str, body: etree._Element) -> InsiResult:
        started = time.perf_counter()
        # Signing may reach a smart card: keep it off the event loop.
        envelope = await asyncio.to_thread(self.build, operation, body)
        self.timings.sign_s += time.perf_counter() - started
        self.timings.calls += 1
        answer = await self.soap.call(envelope, action=self.protocol.action(operation))
        sent_id = envelope.findtext("soap:Header/wsa:MessageID", namespaces=NS) or ""
        if answer.relates_to and answer.relates_to != sent_id:
            # WS-Addressing: an answer to another message is never read as ours.
            raise InvalidXml(
                msg("insi.client.insi_client_exchange"),
                detail="RelatesTo does not match MessageID",
            )
        return parse_result(answer.payload, self.protocol)

    async def search_with_traits(self, traits: InsiTraits) -> InsiResult:
        """Search by the strict traits, one given name per call, each given name in turn."""
        tried: list[str] = []
        for given in traits.given_names:
            tried.append(given)
            body = traits_request(traits, given, self.protocol)
            result = await self._exchange(self.protocol.op_traits, body)
            if result.code is not ResultCode.NONE:
                return InsiResult(result.code, result.label, result.identity, tuple(tried))
        return InsiResult(ResultCode.NONE, "aucune identité", None, tuple(tried))

    async def search_with_vitale(
        self, *, insured_nir: str, birth_date: str, birth_rank: int | None
    ) -> InsiResult:
        """Search by the beneficiary the Vitale card designates."""
        body = vitale_request(
            insured_nir=insured_nir, birth_date=birth_date, birth_rank=birth_rank, p=self.protocol
        )
        return await self._exchange(self.protocol.op_vitale, body)

    async def verify(self, ins: InsiIns, traits: InsiTraits) -> InsiResult:
        """Ask whether ``ins`` is still the active INS of the person with ``traits``."""
        return await self._exchange(self.protocol.op_verify, verify_request(ins, traits))
