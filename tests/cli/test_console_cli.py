"""``kiosk console``: what tty1 runs on the appliance, for each mode of the site."""

from __future__ import annotations

from pathlib import Path

from kiosk.commands.console import console_argv
from tests.cli.conftest import RunKiosk


def test_a_desk_runs_the_app_on_the_text_console(kiosk: RunKiosk, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('mode = "desk"\n')

    done = kiosk("--config", str(site), "console", "--dry-run")

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["run", "--mode", "desk"]
    assert "cage" not in done.stdout


def test_self_service_runs_the_app_in_large_text_on_cage(kiosk: RunKiosk, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('mode = "selfservice"\n[selfservice]\nfont_size = 22\n')

    done = kiosk("--config", str(site), "console", "--dry-run")

    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[:3] == ["cage", "--", "foot"]
    assert "font=DejaVu Sans Mono:size=22" in done.stdout
    assert words[-3:] == ["run", "--mode", "self"]


def test_the_self_service_command_has_no_option_that_lets_the_vt_switch() -> None:
    argv = console_argv("selfservice", 18, "/opt/kiosk/.venv/bin/kiosk")
    assert "-s" not in argv[: argv.index("--")], "cage -s would allow VT switching"


def test_locking_a_console_that_is_not_one_says_so(kiosk: RunKiosk, tmp_path: Path) -> None:
    not_a_tty = tmp_path / "not-a-tty"
    not_a_tty.write_text("")

    done = kiosk("--lang", "en", "console", "--lock", str(not_a_tty))

    assert done.returncode == 3
    assert done.stderr.startswith("kiosk: Cannot lock the console")
    assert "Traceback" not in done.stderr
