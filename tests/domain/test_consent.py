"""Information and consent before a DMP creation (DOMAIN.md §1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.domain.consent import Consent, ConsentError, ConsentRecord, InformationGiven
from kiosk.errors import InvalidInput

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def consent(**changes: object) -> Consent:
    values: dict[str, object] = {
        "creation": True,
        "establishment_access": True,
        "recorded_at": NOW,
        "recorded_by": "3ACCUEIL0001",
    }
    values.update(changes)
    return Consent(**values)  # type: ignore[arg-type]


def test_emergency_and_regulation_centre_access_default_to_yes() -> None:
    given = consent()
    assert given.emergency_access is True
    assert given.regulation_centre_access is True


def test_patient_may_refuse_emergency_accesses() -> None:
    given = consent(emergency_access=False, regulation_centre_access=False)
    record = ConsentRecord(InformationGiven(brochure=True, at=NOW - timedelta(minutes=3)), given)
    assert record.allows_creation
    assert not record.consent.emergency_access


def test_creation_requires_the_patient_informed() -> None:
    with pytest.raises(ConsentError) as caught:
        ConsentRecord(None, consent())
    assert isinstance(caught.value, InvalidInput)
    assert "informé" in caught.value.message_fr


def test_information_on_screen_without_the_leaflet_counts() -> None:
    record = ConsentRecord(InformationGiven(brochure=False, at=NOW), consent())
    assert record.allows_creation


def test_information_must_come_before_consent() -> None:
    with pytest.raises(ConsentError):
        ConsentRecord(InformationGiven(brochure=True, at=NOW + timedelta(seconds=1)), consent())


def test_no_establishment_access_without_creation() -> None:
    with pytest.raises(ConsentError):
        consent(creation=False, establishment_access=True)


def test_a_refusal_is_recorded_and_allows_nothing() -> None:
    refusal = consent(creation=False, establishment_access=False)
    record = ConsentRecord(None, refusal)
    assert refusal.refused
    assert not record.allows_creation


def test_instants_carry_a_time_zone_and_someone_recorded_it() -> None:
    with pytest.raises(ConsentError):
        consent(recorded_at=datetime(2026, 11, 23, 9, 30))
    with pytest.raises(ConsentError):
        InformationGiven(brochure=True, at=datetime(2026, 11, 23, 9, 0))
    with pytest.raises(ConsentError):
        consent(recorded_by="  ")
