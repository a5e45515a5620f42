"""A minimal XDS registry served in-process: stores uniqueIds and refuses a second one."""

from __future__ import annotations

from typing import Any

from kiosk.dmp.attributes import read_attribute_update
from kiosk.dmp.mtom import root_part
from kiosk.dmp.xds import build_registry_response, read_submission
from kiosk.soap.envelope import build_envelope, parse_envelope, serialize

__all__ = ["Registry"]


class Registry:
    """An ASGI XDS registry: a duplicate uniqueId is an error (ITI-41 rule); can lose answers."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.lose_next = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        envelope = parse_envelope(root_part(raw), max_bytes=16 << 20)
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
        body = serialize(reply) if status == 200 else b"<html>502</html>"
        headers = [(b"content-type", b"application/soap+xml; charset=utf-8")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
