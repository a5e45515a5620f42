"""The enrolment flow on the persistent records: a DMP learnt once spares TD0.2 after a restart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kiosk.clock import FrozenClock
from kiosk.dmp.hl7v3 import Acknowledgement
from kiosk.dmp.transactions import (
    AuthorizationStatus,
    ExistenceResponse,
    VitaleTraits,
    WebAccountRequest,
    WebCredentials,
)
from kiosk.domain.ins import Identity, IdentityStatus, Ins, InsEnvironment, StrictTraits
from kiosk.outbox.ports import Delivery
from kiosk.records import RecordStore
from kiosk.records.record import IdentityRecord, KnownDmp, Source
from kiosk.services.enrolment import EnrolmentFlow
from kiosk.services.stages import Stage

PATIENT = Ins.of("277076322082910", "1.2.250.1.213.1.4.10")
TRAITS = StrictTraits.create("Testeur", "Alice Marie", date(1977, 7, 6), "F", "63220")
VITALE = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
QUALIFIED = Identity(PATIENT, TRAITS, IdentityStatus.QUAL)


@dataclass
class Desk:
    """The DMP, outbox and printer ports, recording calls; the DMP has the patient's record."""

    authorization: AuthorizationStatus = AuthorizationStatus.VALID
    calls: list[str] = field(default_factory=list)

    async def existence(self, patient: Ins) -> ExistenceResponse:
        self.calls.append("TD0.2")
        return ExistenceResponse(Acknowledgement(True), True, self.authorization)

    async def open_web_account(self, request: WebAccountRequest) -> WebCredentials:
        self.calls.append("TD1.5")
        return WebCredentials("DMP000000001", "temp-Pass-01")

    async def enqueue(self, kind: str, key: str, payload: bytes) -> None:
        self.calls.append(kind)

    async def deliver(self, key: str) -> tuple[Delivery, str]:
        return Delivery.DONE, ""

    async def print_credentials(self, credentials: WebCredentials) -> None:
        self.calls.append("print")


def admission(desk: Desk, records: RecordStore) -> EnrolmentFlow:
    return EnrolmentFlow(
        dmp=desk,
        outbox=desk,
        records=records,
        printer=desk,
        clock=FrozenClock(T0),
        structure_id="3750100000",
        recorded_by="3750100000/0000042",
    )


async def test_a_known_dmp_skips_the_existence_test_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    desk = Desk()
    records = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        await records.save(IdentityRecord(QUALIFIED, frozenset(Source), (), T0, T0))
        assert await admission(desk, records).start(QUALIFIED, VITALE) is Stage.AUTHORIZED
        assert desk.calls == ["TD0.2"]
    finally:
        await records.close()

    records = await RecordStore.open(path, InsEnvironment.TEST)
    try:
        assert await admission(desk, records).start(QUALIFIED, VITALE) is Stage.AUTHORIZED
        assert desk.calls == ["TD0.2"]  # the second admission asked the DMP nothing
        assert await records.known(PATIENT) == KnownDmp(exists=True, authorized=True)
    finally:
        await records.close()


async def test_a_dmp_without_our_authorization_is_asked_again_next_time(tmp_path: Path) -> None:
    desk = Desk(authorization=AuthorizationStatus.NONE)
    records = await RecordStore.open(tmp_path / "records.sqlite", InsEnvironment.TEST)
    try:
        await records.save(IdentityRecord(QUALIFIED, frozenset(Source), (), T0, T0))
        assert await admission(desk, records).start(QUALIFIED, VITALE) is Stage.NEEDS_AUTHORIZATION
        assert await records.known(PATIENT) == KnownDmp(exists=True, authorized=False)
        await admission(desk, records).start(QUALIFIED, VITALE)
        assert desk.calls == ["TD0.2", "TD0.2"]
    finally:
        await records.close()
