"""The simulator enforces what the real service demands: contexts, signature, one given name."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from lxml import etree

from kiosk.clock import FrozenClock
from kiosk.errors import AccessDenied, KioskError, SoapFault
from kiosk.insi.client import InsiClient
from kiosk.insi.messages import traits_request
from kiosk.insi.protocol import INSI
from kiosk.insi.results import InsiTraits
from kiosk.sim.insi.service import InsiSimulator, SimFault
from kiosk.sim.pki import TestPki
from kiosk.soap.envelope import NS, InvalidXml
from tests.insi_sim import make_client

TRAITS = InsiTraits.create(
    family_name="MARTIN-TEST", given_names="PAUL", sex="M", birth_date="1980-05-23"
)


def _without(envelope: etree._Element, tag: str) -> etree._Element:
    header = envelope.find("soap:Header", NS)
    assert header is not None
    victim = header.find(tag)
    assert victim is not None
    header.remove(victim)
    return envelope


@pytest.mark.parametrize(
    ("tag", "error", "code"),
    [
        (f"{{{INSI.ns_ctxlps}}}ContexteLPS", SoapFault, "siram:ContexteLPSAbsent"),
        (f"{{{INSI.ns_ctxbam}}}ContexteBAM", SoapFault, "siram:ContexteBAMAbsent"),
        (f"{{{NS['wsse']}}}Security", AccessDenied, ""),
    ],
)
async def test_a_request_without_a_mandatory_header_is_refused(
    client: InsiClient, sim: InsiSimulator, tag: str, error: type[KioskError], code: str
) -> None:
    envelope = _without(client.build(INSI.op_traits, traits_request(TRAITS, "PAUL")), tag)
    with pytest.raises(error) as caught:
        await client.soap.call(envelope, action=INSI.action(INSI.op_traits))
    if code:
        assert isinstance(caught.value, SoapFault)
        assert caught.value.fault_code == code
    assert sim.calls[-1].outcome.startswith("refused:")


async def test_an_lps_context_without_authorisation_number_is_refused(client: InsiClient) -> None:
    envelope = client.build(INSI.op_traits, traits_request(TRAITS, "PAUL"))
    idam = envelope.find(f".//{{{INSI.ns_ctxlps}}}IDAM")
    assert idam is not None
    idam.text = ""
    with pytest.raises(SoapFault, match="IDAM"):
        await client.soap.call(envelope, action=INSI.action(INSI.op_traits))


async def test_two_given_names_in_one_call_are_refused(client: InsiClient) -> None:
    envelope = client.build(INSI.op_traits, traits_request(TRAITS, "PAUL HENRI"))
    with pytest.raises(SoapFault) as caught:
        await client.soap.call(envelope, action=INSI.action(INSI.op_traits))
    assert caught.value.fault_code == "siram:PrenomInvalide"


async def test_an_unknown_action_is_refused(client: InsiClient) -> None:
    envelope = client.build("supprimerIns", traits_request(TRAITS, "PAUL"))
    with pytest.raises(SoapFault) as caught:
        await client.soap.call(envelope, action="x")
    assert caught.value.fault_code == "wsa:ActionNotSupported"


async def test_hostile_requests_get_a_fault_not_a_crash(
    http: httpx.AsyncClient, sim: InsiSimulator
) -> None:
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    reply = await http.post("http://sim/", content=bomb)
    assert reply.status_code == 400
    assert b"MessageInvalide" in reply.content


async def test_faults_can_be_queued_over_http(http: httpx.AsyncClient, sim: InsiSimulator) -> None:
    reply = await http.post("http://sim/_sim/fault", json={"fault": "http500", "count": 2})
    assert reply.json() == {"queued": [SimFault.HTTP_500.value] * 2}
    bad = await http.post("http://sim/_sim/fault", json={"fault": "meteor"})
    assert bad.status_code == 400


async def test_an_answer_to_another_message_is_not_read(
    sim: InsiSimulator, pki: TestPki, clock: FrozenClock
) -> None:
    """A middlebox that mixes answers up (same length, other RelatesTo) is caught."""

    async def mixup(scope: Any, receive: Any, send: Any) -> None:
        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.body":
                body = re.sub(
                    rb"(<wsa:RelatesTo>uuid:)([^<]*)",
                    lambda m: m[1] + b"0" * len(m[2]),
                    message["body"],
                )
                message = {**message, "body": body}
            await send(message)

        await sim.app(scope, receive, rewrite)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mixup)) as http:
        client = make_client(http, pki.signer_for("establishment"), clock)
        with pytest.raises(InvalidXml, match="another message"):
            await client.search_with_traits(TRAITS)
