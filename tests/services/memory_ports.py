"""In-memory ports of the enrolment flow, and the fictitious patient's identity at each status."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from kiosk.dmp.hl7v3 import Acknowledgement
from kiosk.dmp.transactions import (
    AuthorizationStatus,
    ExistenceResponse,
    WebAccountRequest,
    WebCredentials,
)
from kiosk.domain.consent import InformationGiven
from kiosk.domain.ins import Identity, IdentityStatus, Ins
from kiosk.outbox.ports import Delivery
from kiosk.records.record import KnownDmp
from tests.dmp.samples import PATIENT, TRAITS

__all__ = ["MemoryDmpRecords", "Ports", "identity"]


@dataclass
class MemoryDmpRecords:
    """DmpRecords in memory: the facts the flow learnt, keyed by patient."""

    facts: dict[Ins, KnownDmp] = field(default_factory=dict)
    informations: dict[Ins, list[InformationGiven]] = field(default_factory=dict)

    async def known(self, patient: Ins) -> KnownDmp | None:
        """What is known, or None."""
        return self.facts.get(patient)

    async def remember(self, patient: Ins, fact: KnownDmp) -> None:
        """Keep a fact learnt from the DMP."""
        self.facts[patient] = fact

    async def inform(self, patient: Ins, given: InformationGiven) -> None:
        """Keep the information given."""
        self.informations.setdefault(patient, []).append(given)

    async def informed(self, patient: Ins) -> InformationGiven | None:
        """The last information given, or None."""
        return (self.informations.get(patient) or [None])[-1]


@dataclass
class Ports:
    """In-memory ports recording every call; the DMP answers from a script."""

    exists: bool = False
    authorization: AuthorizationStatus = AuthorizationStatus.NONE
    delivery: deque[Delivery] = field(default_factory=deque)
    calls: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    printed: list[WebCredentials] = field(default_factory=list)

    async def existence(self, patient: Ins) -> ExistenceResponse:
        self.calls.append("TD0.2")
        return ExistenceResponse(Acknowledgement(True), self.exists, self.authorization)

    async def open_web_account(self, request: WebAccountRequest) -> WebCredentials:
        self.calls.append("TD1.5")
        return WebCredentials("DMP000000001", "temp-Pass-01")

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        self.queued.append(kind)

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        return (self.delivery.popleft() if self.delivery else Delivery.DONE), "DMP_EXISTANT"

    async def print_credentials(self, credentials: WebCredentials) -> None:
        self.printed.append(credentials)


def identity(status: IdentityStatus) -> Identity:
    """The patient with ``status``; a validated identity (VALI) carries no INS."""
    return Identity(PATIENT if status is not IdentityStatus.VALI else None, TRAITS, status)
