"""A recorder of what crosses an ASGI simulator, and the schema labels of the conformance tests.

``Recorder`` wraps a simulator's app: every request body the client sent and every
answer the service gave is kept, MTOM parts put back in place, ready to validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from kiosk.sim.dmp.mtom import is_multipart, resolve_includes, split_related
from kiosk.sim.schemas import PAYLOADS, SIBLINGS, SchemaChecker
from kiosk.soap.envelope import NS

__all__ = ["Exchange", "Recorder", "label", "problems"]


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as parsed envelopes (MTOM resolved)."""

    request: etree._Element
    response: etree._Element
    status: int


def _envelope(content_type: str, raw: bytes) -> etree._Element:
    parts: dict[str, bytes] = {}
    if is_multipart(content_type):
        raw, parts = split_related(content_type, raw)
    root = etree.fromstring(raw)
    body = root.find("soap:Body", NS)
    if body is not None and len(body) and parts:
        resolve_includes(body[0], parts)
    return root


@dataclass
class Recorder:
    """An ASGI app forwarding to ``app`` and keeping each exchange."""

    app: Any
    exchanges: list[Exchange] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent: list[bytes] = []
        answered: list[bytes] = []
        started: dict[str, Any] = {}

        async def tap_receive() -> Any:
            message = await receive()
            sent.append(message.get("body", b""))
            return message

        async def tap_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                answered.append(message.get("body", b""))
            await send(message)

        await self.app(scope, tap_receive, tap_send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = _envelope(headers.get("content-type", ""), b"".join(sent))
        answer_headers = {k.decode().lower(): v.decode() for k, v in started.get("headers", [])}
        response = _envelope(answer_headers.get("content-type", ""), b"".join(answered))
        self.exchanges.append(Exchange(request, response, int(started.get("status", 0))))


def label(payload: etree._Element) -> str:
    """``name`` or ``name-against-sibling-SIBLING``: what the payload is validated as."""
    local = etree.QName(payload).localname
    sibling = SIBLINGS.get(local)
    if sibling:
        return f"{local}-against-sibling-{sibling}"
    return local if str(payload.tag) in PAYLOADS else f"{local}-envelope-only"


def problems(checker: SchemaChecker, envelope: etree._Element) -> list[str]:
    """Every schema error of a whole SOAP message: envelope, headers, payload, CDA inside."""
    body = envelope.find("soap:Body", NS)
    assert body is not None
    assert len(body) == 1, "one payload per SOAP body"
    return checker.errors(envelope, body[0])
