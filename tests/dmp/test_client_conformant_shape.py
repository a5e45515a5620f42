"""The client reads answers the HL7 v3 schema's way, and refuses the old attribute shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from lxml import etree

from kiosk.dmp.errors import DmpMessageInvalid
from kiosk.dmp.hl7v3 import AcknowledgementShapeInvalid
from kiosk.sim.dmp.service import DmpSimulator
from kiosk.soap.envelope import NS

from .samples import PATIENT, creation
from .simulated import ClientFactory

_SOAP = "application/soap+xml; charset=utf-8"
_V3 = "{urn:hl7-org:v3}"


class _Rewriting:
    """Forwards to the simulator and rewrites its answer's HL7 message with ``change``."""

    def __init__(self, app: Any, change: Callable[[etree._Element], None]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        raw = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        root = etree.fromstring(raw)
        body = root.find("soap:Body", NS)
        assert body is not None
        self.change(body[0])
        out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        headers = [(b"content-type", _SOAP.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def _attribute_ack(message: etree._Element) -> None:
    """The pre-conformance shape: ``<acknowledgement typeCode="AA">``."""
    ack = message.find(f"{_V3}acknowledgement")
    assert ack is not None
    type_code = ack.find(f"{_V3}typeCode")
    assert type_code is not None
    ack.set("typeCode", type_code.get("code", ""))
    ack.remove(type_code)


def _untyped_values(message: etree._Element) -> None:
    for value in message.iter(f"{_V3}value"):
        value.attrib.pop("{http://www.w3.org/2001/XMLSchema-instance}type", None)


@pytest.fixture
async def rewritten(
    make_client: ClientFactory, sim: DmpSimulator
) -> AsyncIterator[Callable[[Callable[[etree._Element], None]], Any]]:
    opened: list[httpx.AsyncClient] = []

    def make(change: Callable[[etree._Element], None]) -> Any:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_Rewriting(sim.app, change)),
            base_url="http://dmp.test",
        )
        opened.append(http)
        return make_client(transport=http)

    yield make
    for http in opened:
        await http.aclose()


async def test_a_conformant_acceptance_is_read_as_accepted(make_client: ClientFactory) -> None:
    await make_client().create(creation(), request_id="c1")
    assert (await make_client().existence(PATIENT)).exists


async def test_an_acknowledgement_typed_by_attribute_is_refused_with_a_clear_message(
    rewritten: Callable[[Callable[[etree._Element], None]], Any],
) -> None:
    with pytest.raises(AcknowledgementShapeInvalid) as caught:
        await rewritten(_attribute_ack).existence(PATIENT)
    assert "typeCode en attribut" in caught.value.message("fr")
    assert "typeCode as an attribute" in caught.value.message("en")
    with pytest.raises(AcknowledgementShapeInvalid):
        await rewritten(_attribute_ack).create(creation(), request_id="c2")


async def test_an_attention_line_value_without_xsi_type_is_refused(
    rewritten: Callable[[Callable[[etree._Element], None]], Any],
) -> None:
    client = rewritten(_untyped_values)
    with pytest.raises(DmpMessageInvalid) as caught:
        await client.existence(PATIENT)
    assert "xsi:type" in caught.value.detail
