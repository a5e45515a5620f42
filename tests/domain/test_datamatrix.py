"""INS Data Matrix payloads: vectors, round trips, scanner quirks, fuzzing (DOMAIN.md §3)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.datamatrix import (
    DEFAULT_GS_SUBSTITUTES,
    GS,
    HEADER,
    DataMatrixError,
    DataMatrixReason,
    InsDataMatrix,
    build_payload,
    parse_payload,
    payload_fields,
    payload_for,
)
from kiosk.domain.ins import (
    OID_INS_NIR,
    OID_INS_NIR_TEST,
    Identity,
    IdentityNotQualified,
    IdentityStatus,
    Ins,
    InsEnvironment,
    StrictTraits,
    check_oid_allowed,
)
from kiosk.domain.nir import NirKind
from kiosk.errors import IdentityError
from tests.domain.strategies import identities
from tests.vectors.identity import (
    DataMatrixCase,
    DataMatrixFailure,
    datamatrix_cases,
    datamatrix_failures,
)

relaxed = settings(deadline=None)
# Each identity draws a score of values: fewer examples keep the suite within its budget
# on a loaded 2-core machine, and the round trip below keeps the full default count.
fewer = settings(deadline=None, max_examples=40)

DOMAIN_EXAMPLE = (
    "IS010000000000000000000000S1185057512345673S21.2.250.1.213.1.4.8\x1dS3ADA\x1d"
    "S4LOVELACE\x1dS5FS610-12-1815S799100"
)


def marie() -> tuple[Ins, StrictTraits]:
    return (
        Ins.of("277076322082910", OID_INS_NIR_TEST),
        StrictTraits.create(
            "De l'Estrange-Moreau", ["Marie", "Claire"], date(1977, 7, 14), "F", "63220"
        ),
    )


def outcome(data: str | bytes) -> InsDataMatrix | DataMatrixError:
    """The parse result or its error; any other exception propagates and fails the test."""
    try:
        return parse_payload(data)
    except DataMatrixError as exc:
        return exc


def parse_case(case: DataMatrixCase) -> InsDataMatrix:
    if case.gs_substitutes is None:
        return parse_payload(case.data)
    return parse_payload(case.data, gs_substitutes=case.gs_substitutes)


@pytest.mark.parametrize("case", datamatrix_cases(), ids=lambda c: c.name)
def test_vector_parses_to_its_identity(case: DataMatrixCase) -> None:
    found = parse_case(case)
    assert found.ins.matricule.value == case.nir
    assert found.ins.oid == case.oid
    assert found.traits.birth_given_names == case.given_names
    assert found.traits.birth_family_name == case.family_name
    assert found.traits.sex.value == case.sex
    assert found.traits.birth_date == case.birth_date
    assert found.traits.birth_place == case.birth_place
    if case.canonical:
        assert found.payload() == case.data


@pytest.mark.parametrize("case", datamatrix_failures(), ids=lambda c: c.name)
def test_invalid_vector_names_field_reason_and_offset(case: DataMatrixFailure) -> None:
    with pytest.raises(DataMatrixError) as caught:
        parse_payload(case.payload)
    error = caught.value
    assert (error.field, error.reason.value, error.offset) == (case.field, case.reason, case.offset)
    assert error.code == "DATAMATRIX_INVALID"
    assert error.field in error.message_en or error.field == "header"
    assert str(case.offset) in error.message_fr


def test_domain_example_parses_but_a_test_configuration_refuses_it() -> None:
    found = parse_payload(DOMAIN_EXAMPLE)
    assert found.ins.oid == OID_INS_NIR
    assert found.traits.birth_family_name == "LOVELACE"
    assert found.traits.birth_date == date(1815, 12, 10)
    assert found.traits.birth_place == "99100"
    with pytest.raises(IdentityError):
        check_oid_allowed(found.ins.oid, InsEnvironment.TEST)
    check_oid_allowed(found.ins.oid, InsEnvironment.PRODUCTION)


def test_built_payload_has_gs_only_after_short_variable_fields() -> None:
    payload = build_payload(*marie())
    assert payload == (
        HEADER + "S1277076322082910S21.2.250.1.213.1.4.10S3MARIE CLAIRE\x1d"
        "S4DE L'ESTRANGE-MOREAU\x1dS5FS614-07-1977S763220"
    )
    assert payload.startswith("IS01" + "0" * 22)


def test_parse_accepts_bytes_as_decoders_return_them() -> None:
    payload = build_payload(*marie())
    assert parse_payload(payload.encode("ascii")) == parse_payload(payload)


def test_nia_oid_makes_the_matricule_a_nia() -> None:
    payload = DOMAIN_EXAMPLE.replace("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9")
    assert parse_payload(payload).ins.matricule.kind is NirKind.NIA


def test_substitutes_are_configurable() -> None:
    payload = build_payload(*marie()).replace(GS, "|")
    with pytest.raises(DataMatrixError):
        parse_payload(payload.replace("S5F", "S5F|"), gs_substitutes=())
    assert parse_payload(payload, gs_substitutes=("|",)) == parse_payload(build_payload(*marie()))


def test_a_name_ending_in_s_before_the_next_identifier_survives_a_dropped_gs() -> None:
    ins, _traits = marie()
    payload = build_payload(
        ins, StrictTraits.create("Dupons", ["Jules"], date(1990, 1, 2), "M", "75056")
    )
    found = parse_payload(payload.replace(GS, ""))
    assert found.traits.birth_family_name == "DUPONS"
    assert found.traits.birth_given_names == ("JULES",)


def test_payload_for_requires_a_qualified_identity() -> None:
    ins, traits = marie()
    assert payload_for(Identity(ins, traits, IdentityStatus.QUAL)) == build_payload(ins, traits)
    with pytest.raises(IdentityNotQualified):
        payload_for(Identity(ins, traits, IdentityStatus.RECUP))


def test_build_refuses_names_over_the_field_maximum() -> None:
    ins, _ = marie()
    long_given = ["ALEXANDRE"] * 11
    traits = StrictTraits.create("Moreau", long_given, date(1977, 7, 14), "F", "63220")
    with pytest.raises(DataMatrixError) as caught:
        build_payload(ins, traits)
    assert caught.value.field == "S3"
    assert caught.value.reason is DataMatrixReason.LENGTH


def test_repr_shows_no_identity() -> None:
    shown = repr(parse_payload(build_payload(*marie())))
    assert "277076322082910" not in shown
    assert "MOREAU" not in shown
    assert "MARIE" not in shown


@relaxed
@given(identity=identities())
def test_build_then_parse_gives_the_same_identity(identity: tuple[Ins, StrictTraits]) -> None:
    ins, traits = identity
    payload = build_payload(ins, traits)
    found = parse_payload(payload)
    assert (found.ins, found.traits) == (ins, traits)
    assert found.payload() == payload


@fewer
@given(identity=identities(), substitute=st.sampled_from([*DEFAULT_GS_SUBSTITUTES, ""]))
def test_gs_substituted_or_dropped_still_parses(
    identity: tuple[Ins, StrictTraits], substitute: str
) -> None:
    ins, traits = identity
    found = parse_payload(build_payload(ins, traits).replace(GS, substitute))
    assert (found.ins, found.traits) == (ins, traits)


@fewer
@given(identity=identities(), order=st.permutations(["S1", "S2", "S3", "S4", "S5", "S6", "S7"]))
def test_fields_in_any_order_parse_the_same(
    identity: tuple[Ins, StrictTraits], order: list[str]
) -> None:
    ins, traits = identity
    values = payload_fields(ins, traits)
    limits = {"S2": 20, "S3": 100, "S4": 100}
    payload = HEADER + "".join(
        ident + values[ident] + (GS if len(values[ident]) < limits.get(ident, 0) else "")
        for ident in order
    )
    found = parse_payload(payload)
    assert (found.ins, found.traits) == (ins, traits)
    dropped = parse_payload(payload.replace(GS, ""))
    assert (dropped.ins, dropped.traits) == (ins, traits)


@relaxed
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_datamatrix_errors(data: bytes) -> None:
    with pytest.raises(DataMatrixError) as caught:
        parse_payload(data)
    assert 0 <= caught.value.offset <= len(data)


@relaxed
@given(text=st.text(max_size=300))
def test_random_text_after_the_header_raises_only_datamatrix_errors(text: str) -> None:
    result = outcome(HEADER + text)
    if isinstance(result, DataMatrixError):
        assert 0 <= result.offset <= len(HEADER + text)
        assert result.field


@fewer
@given(identity=identities(), data=st.data())
def test_every_truncation_of_a_valid_payload_is_refused_precisely(
    identity: tuple[Ins, StrictTraits], data: st.DataObject
) -> None:
    payload = build_payload(*identity)
    cut = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    with pytest.raises(DataMatrixError) as caught:
        parse_payload(payload[:cut])
    assert caught.value.offset <= cut


@fewer
@given(identity=identities(), data=st.data())
def test_bit_flips_of_a_valid_payload_never_raise_anything_else(
    identity: tuple[Ins, StrictTraits], data: st.DataObject
) -> None:
    raw = bytearray(build_payload(*identity).encode("ascii"))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 7)), min_size=1, max_size=4)
    )
    for index, bit in flips:
        raw[index] ^= 1 << bit
    result = outcome(bytes(raw))
    assert isinstance(result, InsDataMatrix | DataMatrixError)


@fewer
@given(identity=identities(), data=st.data())
def test_single_character_insertions_and_deletions_never_raise_anything_else(
    identity: tuple[Ins, StrictTraits], data: st.DataObject
) -> None:
    payload = build_payload(*identity)
    index = data.draw(st.integers(0, len(payload) - 1))
    char = data.draw(st.characters())
    for mutated in (
        payload[:index] + char + payload[index:],
        payload[:index] + payload[index + 1 :],
    ):
        assert isinstance(outcome(mutated), InsDataMatrix | DataMatrixError)


def test_offsets_point_into_the_text_as_received() -> None:
    payload = build_payload(*marie()).replace(GS, "<GS>").replace("MOREAU", "MOR3AU")
    with pytest.raises(DataMatrixError) as caught:
        parse_payload("]d2" + payload)
    assert caught.value.field == "S4"
    assert ("]d2" + payload)[caught.value.offset] == "3"


@fewer
@given(identity=identities(), data=st.data())
def test_offsets_survive_substitutes_of_any_length(
    identity: tuple[Ins, StrictTraits], data: st.DataObject
) -> None:
    substitute = data.draw(st.sampled_from(DEFAULT_GS_SUBSTITUTES))
    received = build_payload(*identity).replace(GS, substitute) + "S8"
    with pytest.raises(DataMatrixError) as caught:
        parse_payload(received)
    assert caught.value.reason is DataMatrixReason.IDENTIFIER
    assert received[caught.value.offset :] == "S8"


def test_a_single_substitute_given_as_a_string_is_one_substitute() -> None:
    payload = build_payload(*marie())
    assert parse_payload(payload.replace(GS, "<FS>"), gs_substitutes="<FS>") == parse_payload(
        payload
    )
