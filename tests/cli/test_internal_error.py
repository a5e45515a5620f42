"""A bug of ours reaches the operator as one line and exit 70; the traceback goes to the log."""

from __future__ import annotations

from pathlib import Path

import pytest

import kiosk.commands.nir
from kiosk.cli import EXIT_INTERNAL
from tests.command_line import RunMain, kiosk_main

__all__ = ["kiosk_main"]  # the fixture, used by name


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path}"\nlog_dir = "{tmp_path / "log"}"\n')
    return config


def test_a_bare_bug_is_one_line_and_its_own_exit_code(
    kiosk_main: RunMain, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Broken:
        @staticmethod
        def parse(value: str) -> object:
            raise ZeroDivisionError("bug at 277076322082910")

    monkeypatch.setattr(kiosk.commands.nir, "Nir", Broken)
    code, out, err = kiosk_main("--config", str(_config(tmp_path)), "nir", "check", "1")
    assert code == EXIT_INTERNAL == 70
    assert err == "kiosk: internal error, see the log [INTERNAL]\n"
    assert "Traceback" not in out + err
    log = (tmp_path / "log" / "internal.log").read_text(encoding="utf-8")
    assert "Traceback" in log
    assert "ZeroDivisionError" in log
    assert "277076322082910" not in log  # the NIR is masked in the log as elsewhere
    assert (tmp_path / "log" / "internal.log").stat().st_mode & 0o077 == 0


def test_ctrl_c_is_one_line_and_130(
    kiosk_main: RunMain, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Interrupted:
        @staticmethod
        def parse(value: str) -> object:
            raise KeyboardInterrupt

    monkeypatch.setattr(kiosk.commands.nir, "Nir", Interrupted)
    code, _, err = kiosk_main("--config", str(_config(tmp_path)), "nir", "check", "1")
    assert code == 130
    assert err.strip() == "kiosk: interrompu / aborted"  # click adds a blank line first
