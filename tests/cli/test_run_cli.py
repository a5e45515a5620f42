"""``kiosk run``: a failure before the app opens is the CLI's one line; logs stay off screen."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk.commands.tui_run import LOG_FILE, logs_to_file, mode_of
from kiosk.config import parse_settings
from tests.cli.conftest import RunKiosk


@pytest.fixture(autouse=True)
def _no_worker_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test worker's readers and tokens are not the site's: ``kiosk run`` must not find them."""
    for name in ("PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF"):
        monkeypatch.delenv(name, raising=False)


def test_run_without_a_world_says_how_to_start_one(kiosk: RunKiosk) -> None:
    done = kiosk("run")  # the built-in settings are the simulation's: no world, no tokens
    assert done.returncode == 3
    assert "kiosk demo" in done.stderr
    assert "[UNAVAILABLE]" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # the screen was never taken


def test_run_with_a_bad_site_file_is_one_clear_line(kiosk: RunKiosk, tmp_path: Path) -> None:
    bad = tmp_path / "site.toml"
    bad.write_text('mode = "kitchen"\n')
    done = kiosk("run", "--config", str(bad))
    assert done.returncode == 1
    assert "mode" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_refuses_an_unknown_mode(kiosk: RunKiosk) -> None:
    done = kiosk("run", "--mode", "kitchen")
    assert done.returncode == 1
    assert "--mode" in done.stderr


@pytest.mark.parametrize(
    ("site", "chosen", "expected"),
    [("desk", None, "desk"), ("selfservice", None, "self"), ("selfservice", "desk", "desk")],
)
def test_the_mode_comes_from_the_site_file_unless_chosen(
    site: str, chosen: str | None, expected: str
) -> None:
    settings = parse_settings({"mode": site})
    assert mode_of(settings, chosen) == expected


def test_while_the_app_runs_logs_go_to_the_log_file_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = parse_settings({"paths": {"log_dir": str(tmp_path / "log")}})
    logging.basicConfig(level=logging.WARNING, force=True)  # as kiosk.cli sets it up
    before = list(logging.getLogger().handlers)
    try:
        with logs_to_file(settings) as path:
            logging.getLogger("kiosk.test").warning("reader gone pin=1234")
        assert path == tmp_path / "log" / LOG_FILE
        assert capsys.readouterr().err == ""
        written = path.read_text()
        assert "reader gone" in written
        assert "1234" not in written  # the usual redaction
        assert logging.getLogger().handlers == before
    finally:
        logging.basicConfig(force=True)
