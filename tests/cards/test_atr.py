"""ATR → card kind from the profiles shipped in hw/cards (DOMAIN.md §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cards.atr import AtrPattern, CardProfiles, UnknownCard
from kiosk.cards.ports import CardKind
from kiosk.errors import ConfigError

PROFILES = CardProfiles.default()


@pytest.mark.parametrize(
    ("atr", "kind", "profile"),
    [
        ("3B 75 13 00 00 43 09 EA 90 00", CardKind.VITALE, "vitale-2"),
        ("3B 75 13 00 00 49 09 EA 90 00", CardKind.VITALE, "vitale-2"),
        ("3B 75 13 00 00 45 09 FA 90 00", CardKind.VITALE, "vitale-2"),
        ("3F 65 25 00 2C 09 69 90 00", CardKind.VITALE, "vitale-1"),
        ("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", CardKind.CPS, "cps2ter"),
        (
            "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
            CardKind.CPS,
            "cps3-contactless",
        ),
        ("3B 7B 13 00 00 4B 49 4F 53 4B 43 50 45 53 49 4D", CardKind.CPS, "cpe-sim"),
        ("3B 75 13 00 00 45 09 EA 90", CardKind.UNKNOWN, ""),  # one byte short
        ("3B 8A 80 01 4A 43 4F 50 33 31 56 32 33 32 7A", CardKind.UNKNOWN, ""),
    ],
)
def test_atr_kinds(atr: str, kind: CardKind, profile: str) -> None:
    assert PROFILES.kind(bytes.fromhex(atr)) == (kind, profile)


def test_only_our_own_cpe_pattern_is_marked_simulation() -> None:
    marked = [p.name for p in PROFILES.profiles if p.simulation]
    assert marked == ["cpe-sim"]


def test_unknown_card_message_names_the_atr_in_both_languages() -> None:
    error = UnknownCard(bytes.fromhex("3B0214"))
    assert "3B 02 14" in error.message_fr
    assert "neither a Vitale nor a CPS/CPE card" in error.message_en


def test_wildcard_nibble_and_byte() -> None:
    pattern = AtrPattern.parse("3B 4x xx")
    assert pattern.matches(bytes.fromhex("3B4FAA"))
    assert not pattern.matches(bytes.fromhex("3B5FAA"))
    with pytest.raises(ValueError, match="whole bytes"):
        AtrPattern.parse("3B 4")


def test_a_bad_profile_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('kind = "vitale"\npatterns = ["3G"]\n')
    with pytest.raises(ConfigError) as info:
        CardProfiles.load(tmp_path)
    assert "broken.toml" in info.value.message_en


def test_a_directory_without_profiles_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No card profile"):
        CardProfiles.load(tmp_path)
