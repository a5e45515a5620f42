"""What the kiosk sends and what the simulators answer, validated against the published schemas.

Every transaction of the DMP client (TD0.2, TD0.3, TD1.1, TD1.5, TD2.1 inline and
MTOM, TD3.3) and of the INSi client (traits, Vitale, verification) goes through a
recorder; each request and each answer, faults included, is validated whole:
SOAP 1.2 envelope, WS-Addressing, WS-Security, the SAML assertion, the payload
(interactions without a public schema against their sibling: the label says so)
and the CDA inside an ITI-41.
"""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest
from lxml import etree

from kiosk.dmp.cda import build_cda
from kiosk.dmp.client import DmpClient
from kiosk.dmp.transactions import WebAccountRequest
from kiosk.dmp.xds import Submission
from kiosk.insi.client import InsiClient
from kiosk.insi.results import InsiTraits
from kiosk.sim.schemas import SchemaChecker
from kiosk.soap.envelope import NS
from tests.dmp.samples import PATIENT, UPDATE, cda_document, creation, sample_submission

from .traffic import Recorder, label, problems


def _payload(envelope: etree._Element) -> etree._Element:
    body = envelope.find("soap:Body", NS)
    assert body is not None
    return body[0]


def _second_document() -> Submission:
    cda = cda_document(document_extension="0190a1b2-0000-7000-8000-000000000002")
    return sample_submission(
        cda=cda,
        document=etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8"),
        entry_uuid=uuid.UUID("0190a1b2-0000-7000-8000-0000000000e2"),
        submission_uuid=uuid.UUID("0190a1b2-0000-7000-8000-000000000052"),
        submission_unique_id="1.2.250.1.999.1.2.2",
    )


def _report(checker: SchemaChecker, recorder: Recorder) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for number, exchange in enumerate(recorder.exchanges):
        for side, envelope in (("request", exchange.request), ("answer", exchange.response)):
            name = f"{number}:{side}:{label(_payload(envelope))}"
            found[name] = problems(checker, envelope)
    return found


async def test_every_dmp_request_and_answer_is_schema_valid_hl7_via_siblings(
    dmp: DmpClient, dmp_traffic: Recorder, checker: SchemaChecker
) -> None:
    assert not (await dmp.existence(PATIENT)).exists
    await dmp.create(creation(), request_id="create-1")
    await dmp.authorize(PATIENT, request_id="authorize-1")
    await dmp.open_web_account(WebAccountRequest(PATIENT, mobile="0612345678"))
    assert (await dmp.existence(PATIENT)).exists
    await dmp.submit(sample_submission())
    dmp.settings = dataclasses.replace(dmp.settings, mtom=False)
    await dmp.submit(_second_document())
    await dmp.update_attributes(UPDATE)
    report = _report(checker, dmp_traffic)
    names = {name.split(":", 2)[2] for name in report}
    assert {
        "PRPA_IN201307UV02",
        "PRPA_IN201308UV02-against-sibling-PRPA_IN201310UV02",
        "PRPA_IN201311UV02-against-sibling-PRPA_IN201301UV02",
        "PRPA_IN201314UV02-against-sibling-PRPA_IN201302UV02",
        "MCCI_IN000002UV01",
        "ProvideAndRegisterDocumentSetRequest",
        "SubmitObjectsRequest",
        "RegistryResponse",
    } <= names
    assert all(exchange.status == 200 for exchange in dmp_traffic.exchanges)
    assert {name: errors for name, errors in report.items() if errors} == {}


async def test_every_insi_request_and_answer_is_schema_valid_envelope_only(
    insi: InsiClient, insi_traffic: Recorder, checker: SchemaChecker
) -> None:
    # CNAM publishes no INSi body schema: the envelope, WS-Addressing, WS-Security and the
    # SAML assertion are validated; the bodies are checked by the simulator's own rules.
    traits = InsiTraits.create(
        family_name="Martin-Test", given_names="paul", sex="M", birth_date="1980-05-23"
    )
    found = await insi.search_with_traits(traits)
    assert found.identity is not None
    await insi.search_with_vitale(
        insured_nir="285036912304579", birth_date="2015-06-12", birth_rank=1
    )
    await insi.verify(found.identity.ins, found.identity.traits)
    report = _report(checker, insi_traffic)
    assert len(report) == 6
    assert {name: errors for name, errors in report.items() if errors} == {}


@pytest.mark.parametrize("service", ["dmp", "insi"])
async def test_the_simulators_faults_are_schema_valid_soap_faults(
    service: str,
    dmp_traffic: Recorder,
    insi_traffic: Recorder,
    checker: SchemaChecker,
) -> None:
    recorder = dmp_traffic if service == "dmp" else insi_traffic
    bare = (  # a request the service refuses: no security, an unknown action
        f'<soap:Envelope xmlns:soap="{NS["soap"]}" xmlns:wsa="{NS["wsa"]}"><soap:Header>'
        "<wsa:Action>urn:unknown</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID>"
        "</soap:Header><soap:Body><x/></soap:Body></soap:Envelope>"
    ).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder)) as http:
        answer = await http.post(
            "http://sim/", content=bare, headers={"content-type": "application/soap+xml"}
        )
    assert answer.status_code >= 400
    fault = recorder.exchanges[-1].response
    assert _payload(fault).tag == f"{{{NS['soap']}}}Fault"
    assert checker.envelope_errors(fault) == []
