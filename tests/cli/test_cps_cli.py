"""``kiosk cards login``: hidden PIN prompt, the professional shown, errors as exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import load_establishment, professional
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm

KIOSK = Path(sys.executable).parent / "kiosk"
AGENT = professional("agent")
DOCTOR = professional("doctor")


@pytest.fixture
def own_tokens(softhsm: SoftHsm, tmp_path: Path) -> Path:
    """A private copy of the worker's tokens, so a card locked here stays locked here only."""
    copy = tmp_path / "hsm"
    shutil.copytree(softhsm.token_dir, copy / "tokens")
    conf = copy / "softhsm2.conf"
    conf.write_text(
        softhsm.conf_path.read_text().replace(str(softhsm.token_dir), str(copy / "tokens"))
    )
    return conf


def login(conf: Path, cwd: Path, pin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "PCSCLITE_"))}
    env["SOFTHSM2_CONF"] = str(conf)
    return subprocess.run(
        [str(KIOSK), "cards", "login", *args],
        input=pin + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        start_new_session=True,  # no controlling terminal: the hidden prompt reads stdin
    )


def test_login_shows_the_professional_as_json(own_tokens: Path, tmp_path: Path) -> None:
    done = login(own_tokens, tmp_path, AGENT.pin, "--serial", AGENT.card_serial, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["professional"]["national_id"] == AGENT.national_id
    assert shown["professional"]["role"] == "admission_agent"
    assert shown["professional"]["sector"] == "SA01"
    assert shown["token"] == AGENT.token_label
    assert AGENT.pin not in done.stdout.replace(AGENT.card_serial, "")
    assert AGENT.pin not in done.stderr


def test_login_in_text_shows_name_and_profession(own_tokens: Path, tmp_path: Path) -> None:
    done = login(own_tokens, tmp_path, DOCTOR.pin, "--serial", DOCTOR.card_serial)
    assert done.returncode == 0, done.stderr
    assert "Dominique MEDECIN-TEST" in done.stdout
    assert "profession: 10" in done.stdout


def test_wrong_pins_say_tries_left_then_locked_for_good(own_tokens: Path, tmp_path: Path) -> None:
    args = ("--serial", DOCTOR.card_serial)
    first = login(own_tokens, tmp_path, "0000", *args)
    assert first.returncode == 1
    assert "2 essais" in first.stderr
    second = login(own_tokens, tmp_path, "0000", *args)
    assert "Dernier essai" in second.stderr
    third = login(own_tokens, tmp_path, "0000", *args)
    assert third.returncode == 3
    assert "[PIN_LOCKED]" in third.stderr
    right = login(own_tokens, tmp_path, DOCTOR.pin, *args)
    assert right.returncode == 3
    assert "[PIN_LOCKED]" in right.stderr
    assert "Traceback" not in right.stderr


def test_unknown_card_is_a_clear_error(own_tokens: Path, tmp_path: Path) -> None:
    done = login(own_tokens, tmp_path, "1234", "--serial", "9999999999")
    assert done.returncode == 3
    assert "9999999999" in done.stderr
    assert "Traceback" not in done.stderr


def test_establishment_token_for_indirect_mode(own_tokens: Path, tmp_path: Path) -> None:
    org = load_establishment()
    done = login(own_tokens, tmp_path, org.pin, "--establishment", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["professional"]["national_id"] == org.national_id
