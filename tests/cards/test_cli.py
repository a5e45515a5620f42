"""``kiosk cards list|read|watch`` against the worker's private pcscd."""

from __future__ import annotations

import json
import time

import pytest

from kiosk.cards.pcsc import slot_states
from kiosk.cli import main
from kiosk.sim.cards.desk import CardDesk


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["--lang", "en", *args])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _wait_present(count: int) -> None:
    deadline = time.monotonic() + 15
    while sum(atr is not None for _, atr in slot_states()) < count:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_read_masks_the_nir_unless_show(desk: CardDesk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.insert("family")
    _wait_present(1)
    rc, out, _ = _run(capsys, "cards", "read", "--json")
    assert rc == 0
    data = json.loads(out)
    assert [p["given_name"] for p in data["beneficiaries"]] == ["SOPHIE", "LEA", "LOUIS"]
    assert "285036912304579" not in out
    rc, out, _ = _run(capsys, "cards", "read", "--show")
    assert rc == 0
    assert "285036912304579" in out
    assert "LOUIS" in out


def test_list_shows_kinds_without_personal_data(
    desk: CardDesk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.insert("adult")
    desk.insert("cpe-agent")
    _wait_present(2)
    rc, out, _ = _run(capsys, "cards", "list", "--json")
    assert rc == 0
    kinds = [r.get("kind") for r in json.loads(out)["readers"]]
    assert kinds == ["vitale", "cps", None, None]
    assert "MARTIN" not in out
    rc, out, _ = _run(capsys, "cards", "list", "--show")
    assert "MARTIN-TEST PAUL" in out


def test_read_without_card_is_not_found(desk: CardDesk, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "cards", "read")
    assert rc == 2
    assert "No Vitale card" in err


def test_read_of_unknown_card_says_so(desk: CardDesk, capsys: pytest.CaptureFixture[str]) -> None:
    desk.insert("unknown")
    _wait_present(1)
    rc, _, err = _run(capsys, "cards", "read")
    assert rc == 3
    assert "Unknown card" in err


def test_watch_json_lines_start_with_the_present_state(
    desk: CardDesk, capsys: pytest.CaptureFixture[str]
) -> None:
    desk.insert("adult")
    _wait_present(1)
    rc, out, _ = _run(capsys, "cards", "watch", "--json", "--count", str(len(desk.slots) + 1))
    assert rc == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["ReaderAdded"] * len(desk.slots) + ["CardInserted"]
    assert events[-1]["kind"] == "vitale"
