"""Keyboard-wedge scanners: layouts, GS, recorded evdev streams, cut reads, unplug and recovery.

``/dev/uinput`` does not exist on the development machine, so the evdev path is tested
through the same parser (``key_event`` → ``WedgeDecoder``) fed with recorded event
streams (``tests/vectors/scanner/*.events``) and through the simulated scanner.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import ConfigError
from kiosk.scanning.devices import HidScanner, SimulatedScanner
from kiosk.scanning.framing import WedgeDecoder, key_event, wedge_events
from kiosk.scanning.ports import ScanEvent, ScannerState, ScanPayload, ScanRejected, ScanStatus
from tests.scanning.payloads import GS, PAYLOAD

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "scanner"


def _decode(events: list[tuple[int, int]], keymap: str, **kw: object) -> list[ScanEvent]:
    decoder = WedgeDecoder(keymap, **kw)  # type: ignore[arg-type]
    return [e for e in (decoder.feed(c, v) for c, v in events) if e is not None]


@pytest.mark.parametrize("keymap", ["azerty", "qwerty"])
def test_a_recorded_evdev_stream_gives_the_exact_payload(keymap: str) -> None:
    keys: list[tuple[int, int]] = []
    for line in (VECTORS / f"{keymap}-ins.events").read_text().splitlines():
        if line and not line.startswith("#"):
            found = key_event(*(int(x) for x in line.split()))
            if found is not None:
                keys.append(found)
    [event] = _decode(keys, keymap)
    assert isinstance(event, ScanPayload)
    assert event.data == PAYLOAD.encode()


def test_the_wrong_layout_does_not_pass_silently() -> None:
    events = _decode(wedge_events(PAYLOAD, "qwerty"), "azerty")
    [event] = events
    # QWERTY digits read as AZERTY are punctuation: the payload is not the one scanned.
    assert not (isinstance(event, ScanPayload) and event.data == PAYLOAD.encode())


@pytest.mark.parametrize("gs", ["ctrl", "alt"])
def test_gs_typed_as_ctrl_bracket_or_alt_029_is_gs(gs: str) -> None:
    [event] = _decode(wedge_events(PAYLOAD, "azerty", gs=gs), "azerty")
    assert isinstance(event, ScanPayload)
    assert event.data.count(b"\x1d") == 2


@pytest.mark.parametrize("substitute", ["<GS>", "^]", "~"])
def test_configured_gs_substitutes_become_gs(substitute: str) -> None:
    typed = PAYLOAD.replace(GS, substitute)
    [event] = _decode(wedge_events(typed, "qwerty"), "qwerty")
    assert isinstance(event, ScanPayload)
    assert event.data == PAYLOAD.encode()


def test_a_substitute_that_is_not_configured_stays_as_typed() -> None:
    typed = PAYLOAD.replace(GS, "~")
    [event] = _decode(wedge_events(typed, "qwerty"), "qwerty", gs_substitutes=("<GS>",))
    assert isinstance(event, ScanPayload)
    assert event.text == typed


def test_keys_outside_the_layout_reject_the_read_with_a_clear_message() -> None:
    [event] = _decode([(2, 1), (2, 0), (59, 1), (59, 0), (28, 1)], "qwerty")  # 1, F1, Enter
    assert isinstance(event, ScanRejected)
    assert "QWERTY" in event.error.message("fr")
    assert "keyboard layout" in event.error.message("en")


def test_an_unknown_layout_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        WedgeDecoder("dvorak")


@given(
    st.text(alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.'" + GS), max_size=120)
)
def test_any_ins_like_text_survives_both_layouts(text: str) -> None:
    for keymap in ("azerty", "qwerty"):
        events = _decode(wedge_events(text, keymap), keymap)
        if text:
            assert [e.data for e in events if isinstance(e, ScanPayload)] == [text.encode()]
        else:
            assert events == []


def test_payload_repr_shows_no_personal_data() -> None:
    assert "277076322082910" not in repr(ScanPayload(PAYLOAD.encode(), "sim"))


# --- the simulated scanner: the stream as the identity flow sees it ---------------------


async def _next(stream: AsyncIterator[ScanEvent]) -> ScanEvent:
    return await asyncio.wait_for(anext(stream), 30)


async def test_simulated_scans_arrive_and_a_cut_read_leaves_the_next_one_intact() -> None:
    scanner = SimulatedScanner(keymap="azerty", gap_s=0.2)
    stream = scanner.events()
    assert await _next(stream) == ScanStatus(ScannerState.CONNECTED, "sim")
    scanner.scan_cut(PAYLOAD, keep=40)
    rejected = await _next(stream)
    assert isinstance(rejected, ScanRejected)
    assert "coupé" in rejected.error.message("fr")
    assert "cut short" in rejected.error.message("en")
    scanner.scan(PAYLOAD)
    payload = await _next(stream)
    assert isinstance(payload, ScanPayload)
    assert payload.data == PAYLOAD.encode()
    await scanner.close()
    await stream.aclose()


async def test_unplugging_is_reported_and_reads_resume_when_plugged_back() -> None:
    scanner = SimulatedScanner(keymap="qwerty", retry_s=0.05)
    stream = scanner.events()
    assert (await _next(stream)).state is ScannerState.CONNECTED  # type: ignore[union-attr]
    scanner.scan_cut(PAYLOAD, keep=10)
    scanner.unplug()
    assert isinstance(await _next(stream), ScanRejected)  # the half read is not kept
    gone = await _next(stream)
    assert isinstance(gone, ScanStatus)
    assert gone.state is ScannerState.DISCONNECTED
    with pytest.raises(OSError):
        scanner.scan(PAYLOAD)  # nothing is connected
    scanner.plug()
    back = await _next(stream)
    assert isinstance(back, ScanStatus)
    assert back.state is ScannerState.CONNECTED
    scanner.scan("https://www.monespacesante.fr")
    read = await _next(stream)
    assert isinstance(read, ScanPayload)
    assert read.text == "https://www.monespacesante.fr"
    await scanner.close()
    await stream.aclose()


def test_importing_the_device_module_loads_neither_evdev_nor_serial() -> None:
    code = (
        "import sys, kiosk.scanning.devices; print('evdev' in sys.modules, 'serial' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


async def test_a_hid_scanner_that_is_not_there_is_reported_not_raised(tmp_path: Path) -> None:
    scanner = HidScanner(str(tmp_path / "no-such-event-device"), retry_s=0.05)
    stream = scanner.events()
    absent = await _next(stream)
    assert isinstance(absent, ScanStatus)
    assert absent.state is ScannerState.DISCONNECTED
    assert absent.source.startswith("hid:")
    await scanner.close()
    await stream.aclose()
