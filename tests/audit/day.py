"""A scripted day at an admission desk, written through the real outbox and audit chain.

The desk's lines are made as ``kiosk/services/admission.py`` makes them (same kinds,
the agent's identifier as actor, the patient's INS as subject, ``mode`` in the
details); the outbox lines come from the real :class:`OutboxStore`: enqueue (the
line derived from the committed row), lease, acknowledgement, dead letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.ports import idempotency_key
from kiosk.outbox.store import OutboxStore
from kiosk.signing import KeySigner, SignerIdentity

__all__ = ["PARIS", "DeskDay", "SetClock", "make_signer"]

PARIS = ZoneInfo("Europe/Paris")


def make_signer(national_id: str) -> KeySigner:
    """A fictitious agent's key and self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, national_id)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return KeySigner(key, cert, SignerIdentity(national_id=national_id, display_name="AGENT"))


class SetClock:
    """A clock the script sets to each moment of the day."""

    def __init__(self) -> None:
        self._now = datetime(2026, 1, 1, tzinfo=dt.UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (never backwards: the chain keeps commit order)."""
        assert moment >= self._now, (moment, self._now)
        self._mono += (moment - self._now).total_seconds()
        self._now = moment


class DeskDay:
    """What the desk and the sync worker do, one call per action, at the clock's moment."""

    def __init__(self, store: OutboxStore, clock: SetClock) -> None:
        self.store = store
        self.clock = clock

    @classmethod
    async def open(cls, directory: Path) -> DeskDay:
        """A fresh outbox file in ``directory``."""
        clock = SetClock()
        key = FileDeviceKey.load_or_create(directory / "device.key")
        return cls(await OutboxStore.open(directory / "outbox.sqlite3", key, clock), clock)

    def at(self, local: str, zone: ZoneInfo = PARIS) -> None:
        """Set the clock to a local wall time, ``YYYY-MM-DD HH:MM``."""
        self.clock.set(datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(dt.UTC))

    async def line(
        self, kind: AuditKind, agent: str, patient: str, details: Mapping[str, str] = {}
    ) -> None:
        """One desk line, as ``Admission._audit`` writes it."""
        event = AuditEvent(
            self.clock.now(),
            kind,
            actor=agent,
            subject=patient,
            details={"mode": "direct", **details},
        )
        await self.store.record(event)

    async def enqueue(self, kind: str, signer: KeySigner, *parts: str) -> str:
        """Queue a DMP write; returns its idempotency key."""
        key = idempotency_key(kind, *parts)
        await self.store.enqueue(kind=kind, idempotency_key=key, payload=b"{}", signer=signer)
        return key

    async def _take(self, key: str, *, dead: bool) -> None:
        rows = await self.store.lease("w", lease_s=60, include_bulk=True, limit=1000)
        (row,) = [r for r in rows if r.idempotency_key == key]
        for other in rows:
            if other is not row:  # not answered: no line, back to pending at once
                await self.store.mark_retry(other, "w", error="", delay_s=0.0, answered=False)
        if dead:
            await self.store.mark_dead(row, "w", error="DMP_REFUSED", reason="refused")
        else:
            await self.store.mark_done(row, remote_id=key, duplicate=False)

    async def ack(self, key: str) -> None:
        """The DMP acknowledged the row of ``key``."""
        await self._take(key, dead=False)

    async def dead(self, key: str) -> None:
        """The row of ``key`` went to dead letters."""
        await self._take(key, dead=True)

    # -- the desk's steps, as Admission takes them ---------------------------

    async def create_now(self, agent: KeySigner, patient: str) -> str:
        """Consent given, TD1.1 queued and acknowledged while the agent waits."""
        key = await self.enqueue("dmp.create", agent, patient, self.clock.now().isoformat())
        await self.ack(key)
        await self._consented(agent, patient, key)
        await self.line(AuditKind.DMP_CREATED, agent.identity.national_id, patient, {"key": key})
        return key

    async def create_deferred(self, agent: KeySigner, patient: str) -> str:
        """Consent given, TD1.1 queued; the DMP did not answer: the agent moves on."""
        key = await self.enqueue("dmp.create", agent, patient, self.clock.now().isoformat())
        await self._consented(agent, patient, key)
        return key

    async def create_refused_by_dmp(self, agent: KeySigner, patient: str) -> str:
        """Consent given, TD1.1 refused at once (dead letter while the agent waits)."""
        key = await self.enqueue("dmp.create", agent, patient, self.clock.now().isoformat())
        await self.dead(key)
        await self._consented(agent, patient, key)
        return key

    async def _consented(self, agent: KeySigner, patient: str, key: str) -> None:
        who = agent.identity.national_id
        yes = {"creation": "yes", "establishment_access": "yes"}
        await self.line(AuditKind.CONSENT_GIVEN, who, patient, yes)
        await self.line(AuditKind.DMP_CREATION_QUEUED, who, patient, {"key": key})

    async def refuse_consent(self, agent: KeySigner, patient: str) -> None:
        """The patient refused the creation."""
        await self.line(
            AuditKind.CONSENT_REFUSED, agent.identity.national_id, patient, {"creation": "no"}
        )

    async def authorize(self, agent: KeySigner, patient: str, *, agreed: bool) -> None:
        """An existing DMP: the patient gives (TD0.3 queued and acknowledged) or refuses."""
        who = agent.identity.national_id
        if agreed:
            key = await self.enqueue("dmp.authorize", agent, patient)
            await self.ack(key)
            await self.line(AuditKind.AUTHORIZATION_GIVEN, who, patient)
        else:
            await self.line(AuditKind.AUTHORIZATION_REFUSED, who, patient)

    async def submit(self, agent: KeySigner, patient: str, doc_type: str, n: int) -> str:
        """A TD2.1 queued with its ``dmp.document_queued`` line (``doc_type`` empty: no line)."""
        key = await self.enqueue("dmp.submit", agent, patient, doc_type, str(n))
        if doc_type:
            details = {"type": doc_type, "key": key}
            await self.line(AuditKind.DOCUMENT_QUEUED, agent.identity.national_id, patient, details)
        return key
