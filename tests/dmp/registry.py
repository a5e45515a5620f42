"""A minimal XDS registry served in-process, and the ASGI plumbing of such test services."""

from __future__ import annotations

from typing import Any

from kiosk.dmp.attributes import read_attribute_update
from kiosk.dmp.mtom import root_part
from kiosk.dmp.xds import build_registry_response, read_submission
from kiosk.soap.envelope import build_envelope, parse_envelope, serialize

__all__ = ["Registry", "read_body", "send_soap"]

_SOAP = [(b"content-type", b"application/soap+xml; charset=utf-8")]


async def read_body(receive: Any) -> bytes:
    """The whole request body of an ASGI call, however many messages it came in."""
    raw = b""
    while True:
        message = await receive()
        raw += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return raw


async def send_soap(send: Any, body: bytes, status: int = 200) -> None:
    """Answer an ASGI call with ``body`` as SOAP 1.2."""
    await send({"type": "http.response.start", "status": status, "headers": _SOAP})
    await send({"type": "http.response.body", "body": body})


class Registry:
    """An ASGI XDS registry: a duplicate uniqueId is an error (ITI-41 rule); can lose answers."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.lose_next = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        envelope = parse_envelope(root_part(await read_body(receive)), max_bytes=16 << 20)
        errors: tuple[tuple[str, str], ...] = ()
        if envelope.action.endswith("UpdateDocumentSet"):
            # An attribute update sets a state: applying it again changes nothing.
            self.stored.add(f"update:{read_attribute_update(envelope.payload).entry_uuid}")
        else:
            for entry in read_submission(envelope.payload).entries:
                if entry.unique_id in self.stored:
                    errors += (("XDSDuplicateUniqueIdInRegistry", entry.unique_id),)
                self.stored.add(entry.unique_id)
        status = 200
        if self.lose_next:
            self.lose_next -= 1
            status = 502
        reply = build_envelope(
            build_registry_response(errors),
            action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
            message_id="urn:uuid:00000000-0000-4000-8000-000000000000",
            relates_to=envelope.message_id,
        )
        await send_soap(send, serialize(reply) if status == 200 else b"<html>502</html>", status)
