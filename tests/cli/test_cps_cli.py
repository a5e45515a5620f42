"""``kiosk cards login``: hidden PIN prompt, the professional shown, errors as exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiosk.cards.pinlock import SimulatedPinLock
from kiosk.cli import root
from kiosk.errors import KioskError, PinIncorrect, PinLocked
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import load_establishment, professional
from tests import softhsm as tokens
from tests.command_line import KIOSK

test_pki = tokens.test_pki
softhsm = tokens.softhsm

AGENT = professional("agent")
DOCTOR = professional("doctor")


@pytest.fixture
def worker_tokens(softhsm: SoftHsm) -> Iterator[SoftHsm]:
    """The worker's tokens, used in process; the PIN counters they collect are reset after."""
    yield softhsm
    shutil.rmtree(softhsm.pin_tries_dir, ignore_errors=True)


def invoke(tmp_path: Path, pin: str, *args: str) -> Result:
    # No world in tmp_path: the command uses SOFTHSM2_CONF as exported for this worker.
    return CliRunner().invoke(
        root,
        # English asked for: the text assertions must not depend on an earlier test's --lang.
        ["--lang", "en", "cards", "login", "--state-dir", str(tmp_path), *args],
        input=pin + "\n",
        standalone_mode=False,
    )


def test_login_shows_the_professional_as_json(worker_tokens: SoftHsm, tmp_path: Path) -> None:
    done = invoke(tmp_path, AGENT.pin, "--serial", AGENT.card_serial, "--json")
    assert done.exception is None, done.exception
    shown = json.loads(done.stdout)
    assert shown["professional"]["national_id"] == AGENT.national_id
    assert shown["professional"]["role"] == "admission_agent"
    assert shown["professional"]["sector"] == "SA01"
    assert shown["token"] == AGENT.token_label
    assert "CN=3750100000/0000042" in shown["signature_certificate"]
    assert AGENT.pin not in done.stdout.replace(AGENT.card_serial, "")


def test_login_in_text_shows_name_and_profession(worker_tokens: SoftHsm, tmp_path: Path) -> None:
    done = invoke(tmp_path, DOCTOR.pin, "--serial", DOCTOR.card_serial)
    assert done.exception is None, done.exception
    assert "Dominique MEDECIN-TEST" in done.stdout
    assert "profession: 10" in done.stdout
    assert "logged out" in done.stdout


def test_wrong_pin_says_tries_left_then_last_try(worker_tokens: SoftHsm, tmp_path: Path) -> None:
    first = invoke(tmp_path, "0000", "--serial", DOCTOR.card_serial)
    assert isinstance(first.exception, PinIncorrect)
    assert first.exception.exit_code == 1
    assert "2 essais" in first.exception.message("fr")
    second = invoke(tmp_path, "0000", "--serial", DOCTOR.card_serial)
    assert isinstance(second.exception, PinIncorrect)
    assert "Dernier essai" in second.exception.message("fr")
    third = invoke(tmp_path, "0000", "--serial", DOCTOR.card_serial)
    assert isinstance(third.exception, PinLocked)


def test_unknown_card_is_a_clear_error(worker_tokens: SoftHsm, tmp_path: Path) -> None:
    done = invoke(tmp_path, "1234", "--serial", "9999999999")
    assert isinstance(done.exception, KioskError)
    assert done.exception.exit_code == 3
    assert "9999999999" in done.exception.message("fr")


def test_establishment_token_for_indirect_mode(worker_tokens: SoftHsm, tmp_path: Path) -> None:
    org = load_establishment()
    done = invoke(tmp_path, org.pin, "--establishment")
    assert done.exception is None, done.exception
    assert org.name in done.stdout
    assert org.national_id in done.stdout


def test_operator_sees_a_locked_card_without_traceback(softhsm: SoftHsm, tmp_path: Path) -> None:
    # The real console script, on a private copy of the tokens, with the counter of a
    # card that three wrong PINs locked earlier in another process.
    copy = tmp_path / "hsm"
    shutil.copytree(softhsm.token_dir, copy / "tokens")
    conf = copy / "softhsm2.conf"
    text = softhsm.conf_path.read_text()
    conf.write_text(text.replace(str(softhsm.token_dir), str(copy / "tokens")))
    lock = SimulatedPinLock(copy / "pin-tries")
    for _ in range(3):
        lock.record_attempt(DOCTOR.token_label, accepted=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "PCSCLITE_"))}
    done = subprocess.run(
        [str(KIOSK), "cards", "login", "--serial", DOCTOR.card_serial],
        input=DOCTOR.pin + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "SOFTHSM2_CONF": str(conf)},
        timeout=120,
        start_new_session=True,  # no controlling terminal: the hidden prompt reads stdin
    )
    assert done.returncode == 3
    assert "[PIN_LOCKED]" in done.stderr
    assert "Traceback" not in done.stderr
    assert lock.counter(DOCTOR.token_label).attempts == 3  # no C_Login was spent
