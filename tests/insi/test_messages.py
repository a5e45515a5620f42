"""INSi messages: golden canonicalised requests, and the RESULTAT parser on hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from kiosk.errors import InvalidInput
from kiosk.insi.messages import (
    assertion,
    bam_context,
    lps_context,
    parse_result,
    traits_request,
    verify_request,
    vitale_request,
)
from kiosk.insi.protocol import INSI, ResultCode
from kiosk.insi.results import InsiIns, InsiTraits
from kiosk.signing import SignerIdentity
from kiosk.soap.envelope import InvalidXml, parse_xml
from tests.insi_sim import LPS
from tests.vectors_regen import regenerating

VECTORS = Path(__file__).parents[1] / "vectors" / "insi"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TRAITS = InsiTraits.create(
    family_name="Martin-Test",
    given_names="Paul Henri",
    sex="m",
    birth_date="19800523",
    birth_place="75056",
)

CASES = {
    "recsansvitale": lambda: traits_request(TRAITS, "PAUL"),
    "recvitale": lambda: vitale_request(
        insured_nir="285036912304579", birth_date="2015-06-12", birth_rank=2
    ),
    "verification": lambda: verify_request(
        InsiIns("180057505612342", "1.2.250.1.213.1.4.10"), TRAITS
    ),
    "contexte_lps": lambda: lps_context(LPS, emitter="3750100000", message_id="id-lps", now=NOW),
    "contexte_bam": lambda: bam_context(emitter="3750100000", message_id="id-bam", now=NOW),
    "assertion": lambda: assertion(
        SignerIdentity("3750100000", "Centre hospitalier de démonstration"),
        issuer="CN=ORG_SIGN",
        structure_id="3750100000",
        assertion_id="_a1",
        now=NOW,
    ),
}


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True) + b"\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_requests_match_their_golden_canonical_form(name: str) -> None:
    produced = _c14n(CASES[name]())
    path = VECTORS / f"{name}.xml"
    if regenerating():
        path.write_bytes(produced)
    assert produced == path.read_bytes()


def test_traits_are_normalised_before_they_are_sent() -> None:
    assert TRAITS.family_name == "MARTIN-TEST"
    assert TRAITS.given_names == ("PAUL", "HENRI")
    assert TRAITS.birth_date == "1980-05-23"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèêëàâîïôöùûüçÉÈ '-", min_size=1, max_size=40))
def test_traits_are_sent_normalised_whatever_was_typed(text: str) -> None:
    try:
        traits = InsiTraits.create(
            family_name=text, given_names="Paul", sex="m", birth_date="1980-05-23"
        )
    except InvalidInput:
        return  # no letter at all: refused with a message, never sent
    name = traits.family_name
    assert name.isascii()
    assert name == name.upper()
    assert "  " not in name


@pytest.mark.parametrize(
    ("field", "value"),
    [("sex", "X"), ("birth_date", "1980-13-01"), ("birth_place", "7505"), ("family_name", "R2D2")],
)
def test_bad_traits_are_refused_with_a_message(field: str, value: str) -> None:
    args = {
        "family_name": "MARTIN-TEST",
        "given_names": "PAUL",
        "sex": "M",
        "birth_date": "1980-05-23",
        "birth_place": None,
    }
    args[field] = value
    with pytest.raises(InvalidInput):
        InsiTraits.create(**args)  # type: ignore[arg-type]


def _resultat(inner: str) -> etree._Element:
    return parse_xml(f'<RESULTAT xmlns="{INSI.ns_resultat}">{inner}</RESULTAT>'.encode())


def test_several_identities_never_yield_one_even_if_the_service_sends_some() -> None:
    people = "<INDIVIDU/>" * 2
    result = parse_result(
        _resultat(f"<CR><CodeCR>02</CodeCR><LibelleCR>x</LibelleCR></CR>{people}")
    )
    assert result.code is ResultCode.SEVERAL
    assert result.identity is None


@pytest.mark.parametrize(
    "inner",
    [
        "<CR><CodeCR>07</CodeCR></CR>",
        "<CR></CR>",
        "<CR><CodeCR>00</CodeCR></CR>",
        "<CR><CodeCR>00</CodeCR></CR><INDIVIDU><INSACTIF/><TIQ/></INDIVIDU>",
        "<CR><CodeCR>00</CodeCR></CR><INDIVIDU><INSACTIF><IdIndividu><NumIdentifiant>1"
        "</NumIdentifiant><Cle>2</Cle></IdIndividu><OID>x</OID></INSACTIF><TIQ>"
        "<NomNaissance>A</NomNaissance><ListePrenom>B</ListePrenom><Sexe>M</Sexe>"
        "<DateNaissance>2000-01-01</DateNaissance></TIQ></INDIVIDU>",
        "<CR><CodeCR>00</CodeCR></CR><INDIVIDU><INSACTIF><IdIndividu><NumIdentifiant>"
        "1800575056123</NumIdentifiant><Cle>42</Cle></IdIndividu><OID>x</OID></INSACTIF><TIQ>"
        "<NomNaissance>A</NomNaissance><ListePrenom>B</ListePrenom><Sexe>Q</Sexe>"
        "<DateNaissance>2000-01-01</DateNaissance></TIQ></INDIVIDU>",
    ],
)
def test_incomplete_answers_are_invalid_not_half_read(inner: str) -> None:
    with pytest.raises(InvalidXml):
        parse_result(_resultat(inner))


@given(st.text(max_size=60))
def test_any_code_text_is_either_known_or_refused(code: str) -> None:
    element = _resultat("<CR><CodeCR/></CR>")
    node = element.find(f"{{{INSI.ns_resultat}}}CR/{{{INSI.ns_resultat}}}CodeCR")
    assert node is not None
    try:
        node.text = code
    except ValueError:  # not XML text at all
        return
    try:
        result = parse_result(element)
    except InvalidXml:
        return
    assert result.code.value == code.strip()
