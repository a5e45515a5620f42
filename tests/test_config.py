"""Site configuration: the shipped example loads, and every mistake is named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import Settings, load_settings
from kiosk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_example_is_valid_and_matches_the_defaults() -> None:
    settings = load_settings(ROOT / "firmware_cfg" / "site.example.toml")
    assert settings == Settings()


def test_no_file_gives_simulation_defaults() -> None:
    settings = load_settings(None)
    assert settings.cards.kind == "sim"
    assert settings.site.environment == "test"


def test_every_problem_is_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(
        'mode = "kitchen"\n[dmp]\nmax_tx_per_second = 12\n[printer]\nkind = "laser"\ncolour = 1\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    text = info.value.message_en
    assert str(path) in text
    assert "mode" in text
    assert "dmp.max_tx_per_second" in text
    assert "printer.kind" in text
    assert "printer.colour: unknown key" in text


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[site\n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read configuration file"):
        load_settings(tmp_path / "absent.toml")


def test_relative_profile_paths_are_taken_from_the_installation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an operator running kiosk from anywhere
    profiles = load_settings(None).cards.profiles_dir
    assert profiles.is_absolute()
    assert sorted(profiles.glob("*.toml")), "the shipped ATR profiles must be found"
