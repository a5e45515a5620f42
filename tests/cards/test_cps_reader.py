"""``kiosk cards login`` finds the CPE in its reader: a virtual card, then its SoftHSM2 token."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kiosk.cards.pcsc import slot_states
from kiosk.cli import root
from kiosk.errors import NotFound
from kiosk.sim.cards.desk import CardDesk
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import professional
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm

AGENT = professional("agent")


@pytest.fixture
def worker_tokens(softhsm: SoftHsm) -> Iterator[SoftHsm]:
    """The worker's tokens; the PIN counters a test collects are reset after it."""
    yield softhsm
    shutil.rmtree(softhsm.pin_tries_dir, ignore_errors=True)


def _reader_with_card(count: int = 1) -> list[str]:
    deadline = time.monotonic() + 15
    while True:
        readers = [name for name, atr in slot_states() if atr is not None]
        if len(readers) >= count:
            return readers
        assert time.monotonic() < deadline, "the virtual card did not show up"
        time.sleep(0.05)


def login(tmp_path: Path, pin: str, *args: str) -> Result:
    return CliRunner().invoke(
        root,
        ["cards", "login", "--state-dir", str(tmp_path), "--json", *args],
        input=pin + "\n",
        standalone_mode=False,
    )


def test_the_only_professional_card_is_found_without_naming_its_reader(
    desk: CardDesk, worker_tokens: SoftHsm, tmp_path: Path
) -> None:
    desk.insert("adult")  # a Vitale card beside it is not a candidate
    desk.insert("cpe-agent")
    _reader_with_card(2)
    done = login(tmp_path, AGENT.pin)
    assert done.exception is None, done.exception
    shown = json.loads(done.stdout)
    assert shown["token"] == AGENT.token_label
    assert shown["professional"]["national_id"] == AGENT.national_id


def test_named_reader_reads_the_card_serial_to_find_its_token(
    desk: CardDesk, worker_tokens: SoftHsm, tmp_path: Path
) -> None:
    desk.insert("cpe-agent")
    (reader,) = _reader_with_card()
    done = login(tmp_path, AGENT.pin, "--reader", reader)
    assert done.exception is None, done.exception
    assert json.loads(done.stdout)["token"] == AGENT.token_label


def test_no_professional_card_asks_for_the_reader(
    desk: CardDesk, worker_tokens: SoftHsm, tmp_path: Path
) -> None:
    desk.insert("adult")
    _reader_with_card()
    done = login(tmp_path, AGENT.pin)
    assert isinstance(done.exception, NotFound)
    assert "--reader" in done.exception.message("en")
