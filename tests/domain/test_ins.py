"""INS, strict traits, RNIV statuses and trait comparison (DOMAIN.md §2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.ins import (
    OID_INS_NIA,
    OID_INS_NIR,
    OID_INS_NIR_DEMO,
    OID_INS_NIR_TEST,
    Identity,
    IdentityNotQualified,
    IdentityStatus,
    Ins,
    InsEnvironment,
    Sex,
    StrictTraits,
    Trait,
    check_oid_allowed,
    compare_traits,
    keeps_qualification,
    normalise_name,
    status_from,
)
from kiosk.domain.nir import NirError, NirKind
from kiosk.errors import IdentityError
from tests.domain.strategies import identities, person_names

relaxed = settings(deadline=None)


def traits(**changes: object) -> StrictTraits:
    base = StrictTraits.create(
        birth_family_name="De l'Estrange-Moreau",
        birth_given_names=["Marie", "Claire"],
        birth_date=date(1977, 7, 14),
        sex="F",
        birth_place="63220",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("oid", "environment", "allowed"),
    [
        (OID_INS_NIR, InsEnvironment.PRODUCTION, True),
        (OID_INS_NIA, InsEnvironment.PRODUCTION, True),
        (OID_INS_NIR_TEST, InsEnvironment.PRODUCTION, False),
        (OID_INS_NIR_DEMO, InsEnvironment.PRODUCTION, False),
        (OID_INS_NIR, InsEnvironment.TEST, False),
        (OID_INS_NIA, InsEnvironment.TEST, False),
        (OID_INS_NIR_TEST, InsEnvironment.TEST, True),
        (OID_INS_NIR_DEMO, InsEnvironment.TEST, True),
        ("1.2.250.1.213.1.4.2", InsEnvironment.TEST, False),
        ("1.2.250.1.213.1.4.2", InsEnvironment.PRODUCTION, False),
    ],
)
def test_each_environment_accepts_only_its_own_authorities(
    oid: str, environment: InsEnvironment, allowed: bool
) -> None:
    if allowed:
        check_oid_allowed(oid, environment)
    else:
        with pytest.raises(IdentityError):
            check_oid_allowed(oid, environment)


def test_ins_of_pairs_a_checked_matricule_with_its_authority() -> None:
    ins = Ins.of("2 77 07 63 220 829 10", OID_INS_NIR_TEST)
    assert ins.matricule.value == "277076322082910"
    assert ins.hl7_cx() == "277076322082910^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert ins.environment is InsEnvironment.TEST
    assert Ins.of("193049910001749", OID_INS_NIA).matricule.kind is NirKind.NIA


def test_ins_refuses_an_unknown_oid_and_a_bad_matricule() -> None:
    with pytest.raises(IdentityError):
        Ins.of("277076322082910", "1.2.3")
    with pytest.raises(NirError):
        Ins.of("277076322082911", OID_INS_NIR_TEST)


def test_ins_repr_and_str_are_masked() -> None:
    ins = Ins.of("277076322082910", OID_INS_NIR_TEST)
    for shown in (repr(ins), str(ins)):
        assert "277076322082910" not in shown
        assert "2 77 07 63 ••• ••• 10" in shown


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Lætitia", "LAETITIA"),
        ("Œdipe", "OEDIPE"),
        ("cœur", "COEUR"),
        ("D’Artagnan", "D'ARTAGNAN"),
        ("  Jean-Pierre   Marie ", "JEAN-PIERRE MARIE"),
        ("Hélène", "HELENE"),
        ("Ñúñez", "NUNEZ"),
        ("Çağlar", "CAGLAR"),
        ("Straße", "STRASSE"),
        ("e\u0301lodie", "ELODIE"),
    ],
)
def test_names_are_upper_case_without_diacritics(typed: str, normalised: str) -> None:
    assert normalise_name(typed) == normalised


@pytest.mark.parametrize("typed", ["Jean2", "Marie.", "Anne_Lise", "Bjørn", "李", "", " - ", "@"])
def test_names_with_other_characters_are_refused(typed: str) -> None:
    with pytest.raises(IdentityError):
        normalise_name(typed)


@relaxed
@given(name=person_names())
def test_normalisation_is_idempotent_and_keeps_only_the_allowed_characters(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once
    assert set(once) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ-' ")
    assert "  " not in once
    assert once == once.strip()


def test_traits_normalise_and_split_given_names() -> None:
    made = traits()
    assert made.birth_family_name == "DE L'ESTRANGE-MOREAU"
    assert made.birth_given_names == ("MARIE", "CLAIRE")
    assert made.given_names_joined == "MARIE CLAIRE"
    assert made.first_given_name == "MARIE"
    spaced = StrictTraits.create("x", "marie  claire", date(1977, 7, 14), Sex.F, "63220")
    assert spaced.birth_given_names == made.birth_given_names
    assert (
        StrictTraits.create("x", ["Marie Claire"], date(2000, 1, 1), "f", "2a004").birth_place
        == "2A004"
    )


@pytest.mark.parametrize(
    ("given_names", "sex", "place"),
    [
        ([], "F", "63220"),
        (["Marie"], "X", "63220"),
        (["Marie"], "F", "6322"),
        (["Marie"], "F", "2C004"),
    ],
)
def test_traits_refuse_missing_given_names_bad_sex_or_place(
    given_names: list[str], sex: str, place: str
) -> None:
    with pytest.raises(IdentityError):
        StrictTraits.create("Moreau", given_names, date(1977, 7, 14), sex, place)


def test_traits_repr_shows_no_name() -> None:
    shown = repr(traits())
    assert "MOREAU" not in shown
    assert "MARIE" not in shown
    assert "1977" not in shown


@pytest.mark.parametrize(
    ("insi", "document", "doubtful", "fictitious", "status"),
    [
        (False, False, False, False, IdentityStatus.PROV),
        (True, False, False, False, IdentityStatus.RECUP),
        (False, True, False, False, IdentityStatus.VALI),
        (True, True, False, False, IdentityStatus.QUAL),
        (True, True, True, False, IdentityStatus.PROV),
        (True, True, False, True, IdentityStatus.PROV),
        (True, False, True, False, IdentityStatus.PROV),
        (False, True, False, True, IdentityStatus.PROV),
    ],
)
def test_status_follows_the_rniv(
    insi: bool, document: bool, doubtful: bool, fictitious: bool, status: IdentityStatus
) -> None:
    assert status_from(insi, document, doubtful=doubtful, fictitious=fictitious) is status


@relaxed
@given(
    first=identities(),
    second=identities(),
    status=st.sampled_from(IdentityStatus),
    same_ins=st.booleans(),
    same_traits=st.booleans(),
)
def test_only_a_qualified_identity_returned_unchanged_keeps_its_qualification(
    first: tuple[Ins, StrictTraits],
    second: tuple[Ins, StrictTraits],
    status: IdentityStatus,
    same_ins: bool,
    same_traits: bool,
) -> None:
    """DOMAIN.md §2: QUAL needs INSi and a document; kept only for the very same identity."""
    ins, old = first
    now_ins = ins if same_ins else second[0]
    now_traits = old if same_traits else second[1]
    earlier = Identity(ins, old, status)
    now = Identity(now_ins, now_traits, IdentityStatus.RECUP)
    kept = keeps_qualification(earlier, now)
    same = now_ins == ins and now_traits == old
    assert kept == (status is IdentityStatus.QUAL and same)


def test_status_labels_exist_in_both_languages() -> None:
    assert IdentityStatus.QUAL.label_fr == "Identité qualifiée"
    assert IdentityStatus.QUAL.label_en == "Qualified identity"
    assert len({status.label_fr for status in IdentityStatus}) == 4


def test_only_a_qualified_identity_exposes_its_ins() -> None:
    ins = Ins.of("277076322082910", OID_INS_NIR_TEST)
    assert Identity(ins, traits(), IdentityStatus.QUAL).ins_for_transmission() is ins
    for status in (IdentityStatus.PROV, IdentityStatus.RECUP, IdentityStatus.VALI):
        with pytest.raises(IdentityNotQualified) as caught:
            Identity(ins, traits(), status).ins_for_transmission()
        assert caught.value.code == "IDENTITY_NOT_QUALIFIED"
        assert "277076322082910" not in caught.value.message_fr


def test_an_identity_from_insi_must_carry_its_ins() -> None:
    with pytest.raises(IdentityError):
        Identity(None, traits(), IdentityStatus.QUAL)
    assert Identity(None, traits(), IdentityStatus.VALI).ins is None
    shown = repr(
        Identity(Ins.of("277076322082910", OID_INS_NIR_TEST), traits(), IdentityStatus.QUAL)
    )
    assert "277076322082910" not in shown
    assert "MOREAU" not in shown


def test_identical_traits_have_no_difference() -> None:
    assert compare_traits(traits(), traits()) == []


def test_each_differing_trait_is_named_with_a_reason() -> None:
    other = traits(
        birth_family_name="MOREAU",
        birth_date=date(1977, 8, 14),
        sex=Sex.M,
        birth_place="99100",
        birth_given_names=("MARIE",),
    )
    found = {d.trait: d for d in compare_traits(traits(), other)}
    assert list(found) == list(Trait)
    assert "mois" in found[Trait.BIRTH_DATE].reason
    assert "month" in found[Trait.BIRTH_DATE].reason_en
    assert "étranger" in found[Trait.BIRTH_PLACE].reason
    assert "1 au lieu de 2" in found[Trait.BIRTH_GIVEN_NAMES].reason
    assert all(d.reason and d.reason_en for d in found.values())


def test_given_names_in_another_order_differ() -> None:
    (difference,) = compare_traits(traits(), traits(birth_given_names=("CLAIRE", "MARIE")))
    assert difference.trait is Trait.BIRTH_GIVEN_NAMES
    assert "ordre" in difference.reason
    assert "order" in difference.reason_en


def test_a_differing_given_name_is_located() -> None:
    (difference,) = compare_traits(traits(), traits(birth_given_names=("MARIE", "CLARA")))
    assert "2" in difference.reason
    assert "2" in difference.reason_en


def test_reasons_do_not_reveal_the_values() -> None:
    differences = compare_traits(traits(), traits(birth_family_name="DURAND"))
    assert all("DURAND" not in d.reason and "MOREAU" not in d.reason for d in differences)


@settings(deadline=None, max_examples=40)
@given(first=identities(), second=identities())
def test_comparison_is_empty_exactly_when_traits_are_equal(
    first: tuple[Ins, StrictTraits], second: tuple[Ins, StrictTraits]
) -> None:
    a, b = first[1], second[1]
    assert compare_traits(a, a) == []
    assert (compare_traits(a, b) == []) == (a == b)
    assert {d.trait for d in compare_traits(a, b)} == {d.trait for d in compare_traits(b, a)}


@relaxed
@given(day=st.dates())
def test_changing_only_the_date_reports_only_the_date(day: date) -> None:
    differences = compare_traits(traits(), traits(birth_date=day))
    assert [d.trait for d in differences] == (
        [] if day == date(1977, 7, 14) else [Trait.BIRTH_DATE]
    )
