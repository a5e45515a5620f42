"""The outbox items of the DMP writes the admission makes: kind, idempotency key, payload.

A row keeps the *business action* as JSON, never a VIHF (DOMAIN.md §6): the
enrolment builds the item, the sender (``kiosk/dmp/sender.py``) reads it back when
sending. Kept apart from the sender so that what builds an item needs no SOAP
client (the TUI's import contract holds through the enrolment flow).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.dmp.transactions import ConsentStatement, CreationRequest, VitaleTraits
from kiosk.domain.ins import Ins
from kiosk.outbox.ports import idempotency_key

__all__ = [
    "KINDS",
    "ItemAgent",
    "agent_of",
    "authorization_item",
    "closure_item",
    "creation_from",
    "creation_item",
    "ins_from",
    "reactivation_item",
    "with_agent",
]

KINDS: dict[str, str] = {
    "dmp.create": "TD1.1",
    "dmp.authorize": "TD0.3",
    "dmp.reactivate": "TD1.2",
    "dmp.close": "TD1.4",
    "dmp.submit": "TD2.1",
    "dmp.attributes": "TD3.3",
}
"""Outbox kind → DMP transaction."""


@dataclass(frozen=True)
class ItemAgent:
    """Who the item's VIHF names when the worker sends it (seed 000: « identification
    nominative »): the agent's local id, name and role, kept in the (encrypted) payload."""

    national_id: str
    display_name: str
    role: str

    def __repr__(self) -> str:
        return f"ItemAgent(role={self.role!r})"


def with_agent(payload: bytes, agent: ItemAgent) -> bytes:
    """The item's JSON payload naming ``agent``; the idempotency key does not change."""
    data = json.loads(payload)
    data["agent"] = [agent.national_id, agent.display_name, agent.role]
    return json.dumps(data).encode()


def agent_of(data: dict[str, Any]) -> ItemAgent | None:
    """The agent an item names, or None (an item queued before agents were named)."""
    raw = data.get("agent")
    if not isinstance(raw, list) or len(raw) != 3 or not all(isinstance(v, str) for v in raw):
        return None
    return ItemAgent(raw[0], raw[1], raw[2])


def creation_item(request: CreationRequest) -> tuple[str, str, bytes]:
    """Kind, idempotency key and payload of a TD1.1: one per patient and consent given."""
    traits, consent = request.traits, request.consent
    payload = {
        "ins": [request.patient.matricule.value, request.patient.oid],
        "traits": [
            traits.family_name,
            traits.given_name,
            traits.birth_date,
            traits.birth_rank,
            traits.sex,
        ],
        "consent": {
            "informed_at": consent.informed_at.isoformat(),
            "creation": consent.creation,
            "establishment_access": consent.establishment_access,
            "emergency_access": consent.emergency_access,
            "regulation_centre_access": consent.regulation_centre_access,
        },
    }
    patient = request.patient
    key = idempotency_key(
        "dmp.create", patient.oid, patient.matricule.value, consent.informed_at.isoformat()
    )
    return "dmp.create", key, json.dumps(payload, sort_keys=True).encode()


def authorization_item(patient: Ins, structure_id: str) -> tuple[str, str, bytes]:
    """Kind, idempotency key and payload of a TD0.3 for this establishment."""
    key = idempotency_key("dmp.authorize", patient.oid, patient.matricule.value, structure_id)
    payload = {"ins": [patient.matricule.value, patient.oid]}
    return "dmp.authorize", key, json.dumps(payload, sort_keys=True).encode()


def reactivation_item(patient: Ins, requested_at: datetime) -> tuple[str, str, bytes]:
    """Kind, idempotency key and payload of a TD1.2 the patient asked for at ``requested_at``."""
    key = idempotency_key(
        "dmp.reactivate", patient.oid, patient.matricule.value, requested_at.isoformat()
    )
    payload = {"ins": [patient.matricule.value, patient.oid]}
    return "dmp.reactivate", key, json.dumps(payload, sort_keys=True).encode()


def closure_item(patient: Ins, reason: str, requested_at: datetime) -> tuple[str, str, bytes]:
    """Kind, idempotency key and payload of a TD1.4, with the patient's reason."""
    key = idempotency_key(
        "dmp.close", patient.oid, patient.matricule.value, requested_at.isoformat()
    )
    payload = {"ins": [patient.matricule.value, patient.oid], "reason": reason}
    return "dmp.close", key, json.dumps(payload, sort_keys=True).encode()


def ins_from(data: dict[str, Any]) -> Ins:
    """The patient of an item's payload."""
    matricule, oid = data["ins"]
    return Ins.of(str(matricule), str(oid))


def creation_from(data: dict[str, Any]) -> CreationRequest:
    """The TD1.1 request of a ``dmp.create`` payload."""
    family, given, birth, rank, sex = data["traits"]
    consent = data["consent"]
    return CreationRequest(
        ins_from(data),
        VitaleTraits(str(family), str(given), str(birth), int(rank), str(sex)),
        ConsentStatement(
            informed_at=datetime.fromisoformat(consent["informed_at"]),
            creation=bool(consent["creation"]),
            establishment_access=bool(consent["establishment_access"]),
            emergency_access=bool(consent["emergency_access"]),
            regulation_centre_access=bool(consent["regulation_centre_access"]),
        ),
    )
