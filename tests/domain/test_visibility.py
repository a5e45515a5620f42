"""Document visibility for professionals, patient and legal representatives (DOMAIN.md §6)."""

from __future__ import annotations

from itertools import product

import pytest

from kiosk.domain.visibility import (
    CODE_SYSTEM_DMP,
    CODE_SYSTEM_HL7_CONFIDENTIALITY,
    Visibility,
)
from kiosk.errors import InvalidInput


@pytest.mark.parametrize(
    ("professionals", "patient", "representatives"), list(product([True, False], repeat=3))
)
def test_all_eight_combinations_survive_the_codes(
    professionals: bool, patient: bool, representatives: bool
) -> None:
    visibility = Visibility(professionals, patient, representatives)
    codes = visibility.confidentiality_codes()
    assert codes[0] == ("N", CODE_SYSTEM_HL7_CONFIDENTIALITY)
    assert Visibility.from_codes(codes) == visibility
    assert Visibility.from_codes(reversed(codes)) == visibility
    assert len(codes) == 1 + [professionals, patient, representatives].count(False)


def test_codes_of_a_document_hidden_from_professionals_and_patient() -> None:
    codes = Visibility(
        professionals=False, patient=False, legal_representatives=True
    ).confidentiality_codes()
    assert codes == [
        ("N", "2.16.840.1.113883.5.25"),
        ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
        ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13"),
    ]


def test_default_is_visible_to_everyone() -> None:
    assert Visibility().confidentiality_codes() == [("N", CODE_SYSTEM_HL7_CONFIDENTIALITY)]


def test_unknown_dmp_code_is_refused_other_systems_ignored() -> None:
    with pytest.raises(InvalidInput):
        Visibility.from_codes([("N", CODE_SYSTEM_HL7_CONFIDENTIALITY), ("SECRET", CODE_SYSTEM_DMP)])
    assert Visibility.from_codes([("R", CODE_SYSTEM_HL7_CONFIDENTIALITY)]) == Visibility()
    # The same code under another system says nothing about the DMP populations.
    assert Visibility.from_codes([("MASQUE_PS", "1.2.3")]) == Visibility()


@pytest.mark.parametrize("flags", list(product([True, False], repeat=3)))
def test_the_populations_it_is_hidden_from_give_it_back(flags: tuple[bool, bool, bool]) -> None:
    visibility = Visibility(*flags)
    assert Visibility.hiding(visibility.hidden_from()) == visibility
    assert len(visibility.hidden_from()) == flags.count(False)
