"""Hypothesis strategies for NIRs and fictitious identities (DOMAIN.md §2, §7)."""

from __future__ import annotations

from datetime import date

from hypothesis import reject
from hypothesis import strategies as st

from kiosk.domain.ins import (
    OID_INS_NIA,
    OID_INS_NIR_DEMO,
    OID_INS_NIR_TEST,
    Ins,
    Sex,
    StrictTraits,
)
from kiosk.domain.nir import nir_key

__all__ = [
    "any_bodies",
    "birth_places",
    "identities",
    "nir_bodies",
    "nirs",
    "person_names",
]


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


_DEPARTMENTS = st.one_of(_digits(2), st.sampled_from(["2A", "2B", "99"]))


def any_bodies() -> st.SearchStrategy[str]:
    """Any 13-character body with the key's shape: digits, 2A/2B as department."""
    return st.builds(lambda a, d, b: a + d + b, _digits(5), _DEPARTMENTS, _digits(6))


def nir_bodies() -> st.SearchStrategy[str]:
    """Bodies of real-shaped NIRs: sex digit 1, 2, 7 or 8; any month (incomplete records)."""
    return st.builds(
        lambda sex, rest, dept, tail: sex + rest + dept + tail,
        st.sampled_from("1278"),
        _digits(4),
        _DEPARTMENTS,
        _digits(6),
    )


def nirs() -> st.SearchStrategy[str]:
    """Valid 15-character NIRs."""
    return nir_bodies().map(lambda body: body + f"{nir_key(body):02d}")


def birth_places() -> st.SearchStrategy[str]:
    """INSEE birth place codes: mainland, Corsica 2A/2B, abroad 99xxx."""
    return st.builds(
        lambda dept, commune: dept + commune,
        st.one_of(_digits(2), st.sampled_from(["2A", "2B", "99"])),
        _digits(3),
    )


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzéèêëàâäîïôöùûüçÿñÉÈÀÇÔœæŒÆß"
_WORDS = st.text(alphabet=_LETTERS, min_size=1, max_size=10)


def person_names(separators: str = " -'’") -> st.SearchStrategy[str]:
    """Names as people type them: accents, ligatures, hyphens, apostrophes, spaces."""
    return st.builds(
        lambda first, rest: first + "".join(sep + word for sep, word in rest),
        _WORDS,
        st.lists(st.tuples(st.sampled_from(separators), _WORDS), max_size=3),
    )


@st.composite
def identities(draw: st.DrawFn) -> tuple[Ins, StrictTraits]:
    """A fictitious INS and its traits, within the Data Matrix field limits."""
    oid = draw(st.sampled_from([OID_INS_NIR_TEST, OID_INS_NIR_DEMO, OID_INS_NIA]))
    ins = Ins.of(draw(nirs()), oid)
    given = draw(st.lists(person_names("-'"), min_size=1, max_size=4))
    traits = StrictTraits.create(
        birth_family_name=draw(person_names()),
        birth_given_names=given,
        birth_date=draw(st.dates(min_value=date(1, 1, 1))),
        sex=draw(st.sampled_from(Sex)),
        birth_place=draw(birth_places()),
    )
    if len(traits.given_names_joined) > 100 or len(traits.birth_family_name) > 100:
        reject()
    return ins, traits
