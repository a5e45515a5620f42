"""The simulated reader's card events: vpcd behind ``vpcd_events.c``.

The wrapper is driven here through its IFD handler entry points (``ctypes``), as pcscd
drives it, around Debian's real vpcd and a virtual card on the slot's socket; then
under a private pcscd, through PC/SC. The bounds on waits are seconds where the
wrapper answers in tens of milliseconds: they tell "returned on the event" from "slept
to its timeout", not how fast.
"""

from __future__ import annotations

import ctypes
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.sim.cards import event_driver
from kiosk.sim.cards.pcscd import VPCD_DRIVER, PcscDaemon, free_port_pair
from kiosk.sim.cards.virtual import VirtualCard, load_card
from tests.pcsc_link import point_pcsc_at

pytestmark = pytest.mark.skipif(not VPCD_DRIVER.exists(), reason="vsmartcard-vpcd not installed")

IFD_SUCCESS = 0
IFD_ICC_PRESENT = 615
IFD_ICC_NOT_PRESENT = 616
TAG_IFD_STOP_POLLING_THREAD = 0x0FB2
TAG_IFD_POLLING_THREAD_WITH_TIMEOUT = 0x0FB3
TEN_MINUTES_MS = 10 * 60 * 1000  # pcscd's PCSCLITE_STATUS_EVENT_TIMEOUT

Polling = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_ulong, ctypes.c_int)
Stop = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_ulong)


class Driver:
    """The wrapper loaded as pcscd loads an IFD handler, on slot 0 of one port."""

    def __init__(self, directory: Path, index: int) -> None:
        path = event_driver.install(directory, index, VPCD_DRIVER)
        assert path is not None, "the wrapper did not build (bootstrap installs cc, pcsclite)"
        self.lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)  # its log_msg, for vpcd
        self.lib.IFDHCreateChannelByName.argtypes = [ctypes.c_ulong, ctypes.c_char_p]
        self.lib.IFDHICCPresence.argtypes = [ctypes.c_ulong]
        self.lib.IFDHCloseChannel.argtypes = [ctypes.c_ulong]
        self.lib.IFDHGetCapabilities.argtypes = [
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.c_void_p,
        ]
        self.port = free_port_pair()
        assert self.lib.IFDHCreateChannelByName(0, f"/dev/null:{self.port}".encode()) == 0

    def function(self, tag: int) -> int:
        value = ctypes.c_void_p()
        length = ctypes.c_ulong(ctypes.sizeof(value))
        assert self.lib.IFDHGetCapabilities(0, tag, ctypes.byref(length), ctypes.byref(value)) == 0
        assert length.value == ctypes.sizeof(value)
        assert value.value is not None
        return value.value

    def presence(self) -> int:
        return int(self.lib.IFDHICCPresence(0))

    def poll_in_thread(self, timeout_ms: int) -> threading.Thread:
        polling = Polling(self.function(TAG_IFD_POLLING_THREAD_WITH_TIMEOUT))
        thread = threading.Thread(target=polling, args=(0, timeout_ms), daemon=True)
        thread.start()
        return thread


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Driver]:
    d = Driver(tmp_path, 0)  # its own files: vpcd's slots are globals of the loaded copy
    yield d
    d.lib.IFDHCloseChannel(0)


def test_the_polling_returns_when_a_card_is_inserted(driver: Driver) -> None:
    assert driver.presence() == IFD_ICC_NOT_PRESENT  # what pcscd saw before it polls
    waiting = driver.poll_in_thread(TEN_MINUTES_MS)
    card = VirtualCard(load_card("adult"), driver.port).insert()
    try:
        waiting.join(timeout=10)
        assert not waiting.is_alive(), "the insertion did not end the polling"
        assert driver.presence() == IFD_ICC_PRESENT
    finally:
        card.pull()


def test_the_polling_returns_when_the_card_is_pulled(driver: Driver) -> None:
    card = VirtualCard(load_card("adult"), driver.port).insert()
    while driver.presence() != IFD_ICC_PRESENT:
        assert card.wait_connected(10)
    waiting = driver.poll_in_thread(TEN_MINUTES_MS)
    card.pull()
    waiting.join(timeout=10)
    assert not waiting.is_alive(), "the removal did not end the polling"
    assert driver.presence() == IFD_ICC_NOT_PRESENT


def test_a_card_pulled_before_the_polling_starts_is_still_an_event(driver: Driver) -> None:
    card = VirtualCard(load_card("adult"), driver.port).insert()
    while driver.presence() != IFD_ICC_PRESENT:  # pcscd's last check: present
        assert card.wait_connected(10)
    card.pull()  # gone before pcscd calls the polling
    waiting = driver.poll_in_thread(TEN_MINUTES_MS)
    waiting.join(timeout=10)
    assert not waiting.is_alive(), "a removal between two checks was lost"


def test_a_stop_request_ends_one_wait_and_the_next_one_waits_again(driver: Driver) -> None:
    # pcscd asks for a stop each time its last client disconnects, then polls again.
    stop = Stop(driver.function(TAG_IFD_STOP_POLLING_THREAD))
    assert driver.presence() == IFD_ICC_NOT_PRESENT
    for _ in range(2):
        waiting = driver.poll_in_thread(TEN_MINUTES_MS)
        waiting.join(timeout=0.5)
        assert waiting.is_alive(), "the polling returned with nothing to report"
        stop(0)
        waiting.join(timeout=10)
        assert not waiting.is_alive(), "pcscd's stop request did not end the polling"


def test_a_stop_request_between_two_waits_ends_the_next(driver: Driver) -> None:
    # pcscd removing a reader asks for a stop, then joins its thread: never lost.
    Stop(driver.function(TAG_IFD_STOP_POLLING_THREAD))(0)
    waiting = driver.poll_in_thread(TEN_MINUTES_MS)
    waiting.join(timeout=10)
    assert not waiting.is_alive(), "a stop made before the wait was lost"


def test_without_an_event_the_polling_returns_at_its_timeout(driver: Driver) -> None:
    assert driver.presence() == IFD_ICC_NOT_PRESENT
    waiting = driver.poll_in_thread(100)  # pcscd's grace period, shortened
    waiting.join(timeout=10)
    assert not waiting.is_alive(), "the polling outlived its timeout"


def test_pcscd_uses_the_wrapper_and_sees_every_card_event(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from smartcard import scard

    daemon = PcscDaemon(tmp_path / "d")
    daemon.start()
    try:
        maps = Path(f"/proc/{daemon.pid}/maps").read_text()
        assert "vpcd-events-0-" in maps, "pcscd runs the stock driver"
        point_pcsc_at(daemon.env["PCSCLITE_CSOCK_NAME"], tmp_path_factory.getbasetemp())
        _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        slot = "Kiosk Desk 00 00"
        _, states = scard.SCardGetStatusChange(context, 0, [(slot, scard.SCARD_STATE_UNAWARE)])
        for _ in range(3):
            card = VirtualCard(load_card("adult"), daemon.slots[slot]).insert()
            states = _next_state(context, slot, states)
            assert states[0][1] & scard.SCARD_STATE_PRESENT
            card.pull()
            states = _next_state(context, slot, states)
            assert states[0][1] & scard.SCARD_STATE_EMPTY
        scard.SCardReleaseContext(context)
    finally:
        daemon.stop()


def _next_state(
    context: int, slot: str, states: list[tuple[str, int, bytes]]
) -> list[tuple[str, int, bytes]]:
    from smartcard import scard

    rv, changed = scard.SCardGetStatusChange(context, 10_000, [(slot, states[0][1])])
    assert rv == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(rv)
    return list(changed)


def test_a_changed_source_is_rebuilt_and_an_unbuildable_one_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    built = event_driver.build(tmp_path / "cache")
    assert built is not None
    assert built.exists()
    assert event_driver.build(tmp_path / "cache") == built  # cached by the source's hash
    broken = tmp_path / "broken.c"
    shutil.copyfile(event_driver.SOURCE, broken)
    broken.write_text(broken.read_text() + "\nthis is not C;\n")
    monkeypatch.setattr(event_driver, "SOURCE", broken)
    assert event_driver.build(tmp_path / "cache") is None
    assert "build failed" in caplog.text


def test_the_python_figure_of_the_poll_is_the_c_one() -> None:
    # The benchmarks subtract EVENT_POLL_MS from what they measure.
    defined = [ln.split() for ln in event_driver.SOURCE.read_text().splitlines()]
    assert ["#define", "EVENT_POLL_MS", str(event_driver.EVENT_POLL_MS)] in defined
