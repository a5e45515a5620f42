"""The outbox's sender for the DMP: an item's kind names the transaction, its key the request.

Every DMP write goes through the outbox, also when online (ARCHITECTURE.md §6). A row
keeps the *business action*, never a VIHF (DOMAIN.md §6: built per call, signed when
sending):

* ``dmp.create`` (TD1.1) and ``dmp.authorize`` (TD0.3): the request's values as JSON;
  the idempotency key is sent as the HL7 message id, so a resend after a lost answer
  is the same request and the service answers it from its record: one DMP, never two;
* ``dmp.submit`` (TD2.1) and ``dmp.attributes`` (TD3.3): the built ebRIM body (its
  ids are derived, so it is the same bytes on every resend); the document's uniqueId
  and entryUUID are inside, and a DMP answer "duplicate uniqueId" to a resend means the
  first send was stored: acknowledged as a duplicate, not a failure.

Failures map to the outbox's two kinds: not reached or answer lost
(:class:`~kiosk.errors.Unavailable`) → transient, *not answered*; a refusal that
sending again cannot change → permanent (dead letter with its code); anything else
the service answered → transient, counted against the row.
"""

from __future__ import annotations

import json

from lxml import etree

from kiosk.dmp.client import DUPLICATE, DmpClient, DmpRefused
from kiosk.dmp.items import KINDS, agent_of, creation_from, ins_from
from kiosk.domain.ins import Ins
from kiosk.errors import AccessDenied, InvalidInput, KioskError, SoapFault, Unavailable
from kiosk.locale import msg
from kiosk.outbox.ports import (
    Ack,
    OutboxItem,
    PermanentSendError,
    SendError,
    TransientSendError,
    idempotency_key,
)
from kiosk.soap.envelope import parse_xml, serialize

__all__ = ["DmpSender", "registry_item"]

_MAX_PAYLOAD = 16 << 20
"""A queued submission holds its document: far above a discharge letter's PDF."""


def registry_item(
    transaction: str, body: etree._Element, patient: Ins, natural_key: str
) -> tuple[str, str, bytes]:
    """Kind, key and payload of a built TD2.1/TD3.3 body; ``natural_key`` is the uniqueId."""
    kind = {"TD2.1": "dmp.submit", "TD3.3": "dmp.attributes"}[transaction]
    payload = {
        "ins": [patient.matricule.value, patient.oid],
        "key": natural_key,
        "body": serialize(body).decode("utf-8"),
    }
    return kind, idempotency_key(kind, natural_key), json.dumps(payload).encode()


class DmpSender:
    """Delivers outbox items through a :class:`DmpClient` (an ``OutboxSender``)."""

    def __init__(self, client: DmpClient) -> None:
        self._client = client

    async def send(self, item: OutboxItem) -> Ack:
        """Send ``item`` with its idempotency key; a :class:`SendError` on failure."""
        transaction = KINDS.get(item.kind)
        if transaction is None:
            raise PermanentSendError(msg("dmp.sender.dmp_sender_send"), fault_code="UNKNOWN_KIND")
        try:
            return await self._deliver(item, transaction)
        except SendError:
            raise
        except DmpRefused as exc:
            if transaction == "TD2.1" and exc.ack_code == DUPLICATE:
                return Ack(item.idempotency_key, item.idempotency_key, duplicate=True)
            raise _permanent(exc, exc.ack_code) from exc
        except SoapFault as exc:
            if exc.permanent:
                raise _permanent(exc, exc.fault_code) from exc
            raise _transient(exc, exc.fault_code, answered=True) from exc
        except (AccessDenied, InvalidInput) as exc:
            raise _permanent(exc, exc.code) from exc
        except Unavailable as exc:
            raise _transient(exc, exc.code, answered=False) from exc
        except KioskError as exc:
            # Answered but unreadable or mismatched: resending the same key is safe.
            raise _transient(exc, exc.code, answered=True) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentSendError(
                msg("dmp.sender.dmp_sender_send_2"),
                fault_code="PAYLOAD_INVALID",
                detail=type(exc).__name__,
            ) from exc

    async def _deliver(self, item: OutboxItem, transaction: str) -> Ack:
        data = json.loads(item.payload)
        key = item.idempotency_key
        client, agent = self._client, agent_of(data)
        if agent is not None:  # the VIHF names who acted, not the installation
            client = client.for_agent(agent.national_id, agent.display_name, role=agent.role)
        if transaction == "TD1.1":
            await client.create(creation_from(data), request_id=key)
        elif transaction == "TD0.3":
            await client.authorize(ins_from(data), request_id=key)
        elif transaction == "TD1.2":
            await client.reactivate(ins_from(data), request_id=key)
        elif transaction == "TD1.4":
            await client.close(ins_from(data), str(data["reason"]), request_id=key)
        else:
            # Our own payload, still parsed by the hardened parser: it was stored on disk.
            body = parse_xml(str(data["body"]).encode("utf-8"), max_bytes=_MAX_PAYLOAD)
            await client.send_registry(transaction, body, ins_from(data), str(data["key"]))
        return Ack(key, key)


def _permanent(exc: KioskError, code: str) -> PermanentSendError:
    return PermanentSendError(exc.message_fr, exc.message_en, fault_code=code, detail=exc.detail)


def _transient(exc: KioskError, code: str, *, answered: bool) -> TransientSendError:
    return TransientSendError(
        exc.message_fr, exc.message_en, fault_code=code, answered=answered, detail=exc.detail
    )
