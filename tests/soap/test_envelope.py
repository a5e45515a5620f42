"""The envelope: SOAP 1.2 + WS-Addressing round trip, faults, and the hardened parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.soap.envelope import (
    NS,
    FaultInfo,
    InvalidXml,
    build_envelope,
    build_fault,
    fault_error,
    parse_envelope,
    parse_xml,
    serialize,
)


def _body(text: str = "x") -> etree._Element:
    el = etree.Element("{urn:test}Ping")
    el.text = text
    return el


def test_envelope_round_trip_keeps_addressing_headers_and_body() -> None:
    extra = etree.Element("{urn:test}Context")
    raw = serialize(
        build_envelope(_body("bonjour"), action="urn:a", message_id="uuid:1", headers=[extra])
    )
    env = parse_envelope(raw)
    assert (env.action, env.message_id, env.fault) == ("urn:a", "uuid:1", None)
    assert env.header("{urn:test}Context") is not None
    assert env.payload.tag == "{urn:test}Ping"
    assert env.payload.text == "bonjour"


def test_fault_is_parsed_with_both_languages_and_detail_code() -> None:
    info = FaultInfo("Sender", "siram:X", "refusé", "refused", severity="erreur", detail_code="E12")
    raw = serialize(build_envelope(build_fault(info), action="f", message_id="m"))
    env = parse_envelope(raw)
    assert env.fault == info
    err = fault_error(env.fault, service="INSi")
    assert err.fault_code == "E12"
    assert err.permanent
    assert "refusé" in err.message("fr")
    assert "refused" in err.message("en")


def test_receiver_fault_is_not_permanent() -> None:
    info = FaultInfo("Receiver", "siram:Y", "panne", "failure")
    raw = serialize(build_envelope(build_fault(info), action="f", message_id="m"))
    env = parse_envelope(raw)
    assert env.fault is not None
    assert not fault_error(env.fault, service="DMP").permanent


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<lolz>&lol3;</lolz>"
)
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL, "DOCTYPE"),
        (b"<a><b></a>", ""),
        (b"", ""),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "UTF-8"),
    ],
)
def test_hostile_or_broken_xml_is_refused_with_a_clear_message(raw: bytes, detail: str) -> None:
    with pytest.raises(InvalidXml) as caught:
        parse_xml(raw)
    assert detail in caught.value.detail
    assert caught.value.message("fr").startswith("Réponse du service illisible")


def test_size_limit_applies_before_parsing() -> None:
    raw = b"<a>" + b"x" * 2000 + b"</a>"
    assert parse_xml(raw, max_bytes=4096).tag == "a"
    with pytest.raises(InvalidXml, match="too large"):
        parse_xml(raw, max_bytes=1000)


def test_a_non_soap_document_is_not_an_envelope() -> None:
    with pytest.raises(InvalidXml, match=r"not a SOAP 1\.2 envelope"):
        parse_envelope(b"<html><body>502</body></html>")


def test_an_empty_body_is_refused() -> None:
    raw = f"<s:Envelope xmlns:s='{NS['soap']}'><s:Body/></s:Envelope>".encode()
    with pytest.raises(InvalidXml, match="invalid SOAP body"):
        parse_envelope(raw)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_foreign_exceptions(raw: bytes) -> None:
    with contextlib.suppress(InvalidXml):
        parse_envelope(raw)
