"""2D scanners: HID keyboard wedges (evdev, grabbed), serial/CDC (pyserial), and a simulator.

All three yield :mod:`kiosk.scanning.ports` events and survive unplugging: a status
event when the device goes, another when it is back, reads in between are simply
not there. A read is complete at Enter (wedge) or CR/LF (serial); keys or bytes that
stop arriving before that for ``gap_s`` make a :class:`ScanRejected` ("cut short"),
and the next scan starts clean.

HID: the device is grabbed (``EVIOCGRAB``) so its keystrokes never reach the TUI or
the console; key codes go through the configured layout (``kiosk.scanning.keymaps``).
GS arrives as Ctrl+``]``, as Alt+keypad 029, or as one of the configured substitutes
(DOMAIN.md §3: wedges often drop or remap it). evdev is imported only when a HID
scanner opens, so this module imports on machines without ``/dev/input``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Final

from kiosk.errors import ConfigError, InvalidInput
from kiosk.scanning.keymaps import (
    KEY_ENTER,
    KEY_KPENTER,
    KEY_RIGHTBRACE,
    KEYMAPS,
    KEYPAD_DIGITS,
    MODIFIERS,
    keystrokes_for,
)
from kiosk.scanning.ports import ScanEvent, ScannerState, ScanPayload, ScanRejected, ScanStatus

__all__ = [
    "DEFAULT_GS_SUBSTITUTES",
    "HidScanner",
    "SerialFramer",
    "SerialScanner",
    "SimulatedScanner",
    "WedgeDecoder",
    "key_event",
    "wedge_events",
]

GS: Final = "\x1d"
DEFAULT_GS_SUBSTITUTES: Final = ("\x1d", "<GS>", "^]", "~")
_MAX_PAYLOAD: Final = 4096
_EV_KEY: Final = 1


def _cut_short(source: str) -> ScanRejected:
    return ScanRejected(
        InvalidInput(
            "Lecture incomplète : le code a été coupé. Présentez-le de nouveau.",
            "Incomplete read: the code was cut short. Please scan it again.",
            detail=f"{source}: no terminator within the gap",
        ),
        source,
    )


def _unreadable(source: str, keymap: str, bad: int) -> ScanRejected:
    layout = keymap.upper()
    return ScanRejected(
        InvalidInput(
            f"Lecture illisible : vérifiez que le lecteur est réglé en clavier {layout}.",
            f"Unreadable scan: check that the scanner is set to the {layout} keyboard layout.",
            detail=f"{source}: {bad} unmapped key(s)",
        ),
        source,
    )


def _too_long(source: str) -> ScanRejected:
    return ScanRejected(
        InvalidInput(
            "Lecture refusée : données trop longues pour un code INS ou QR.",
            "Scan refused: too much data for an INS or QR code.",
            detail=f"{source}: over {_MAX_PAYLOAD} bytes without terminator",
        ),
        source,
    )


def _normalise_gs(text: str, substitutes: Sequence[str]) -> str:
    # Longest first, so "<GS>" is not half-eaten by a one-character substitute.
    for sub in sorted((s for s in substitutes if s and s != GS), key=len, reverse=True):
        text = text.replace(sub, GS)
    return text


class WedgeDecoder:
    """Key events of a keyboard-wedge scanner → payloads; pure, fed by evdev or recordings."""

    def __init__(
        self,
        keymap: str = "azerty",
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        source: str = "hid",
    ) -> None:
        if keymap not in KEYMAPS:
            raise ConfigError(
                f"Disposition de clavier inconnue : {keymap} (azerty ou qwerty).",
                f"Unknown keyboard layout: {keymap} (azerty or qwerty).",
            )
        self.keymap_name = keymap
        self._keymap = KEYMAPS[keymap]
        self._substitutes = tuple(gs_substitutes)
        self.source = source
        self._held: set[str] = set()
        self._alt_digits = ""
        self._chars: list[str] = []
        self._bad = 0

    @property
    def pending(self) -> bool:
        """True while a read has started and not ended."""
        return bool(self._chars or self._bad or self._alt_digits)

    def abandon(self) -> ScanRejected | None:
        """The keys stopped before Enter: drop the partial read and say so."""
        if not self.pending:
            return None
        self._reset()
        return _cut_short(self.source)

    def feed(self, code: int, value: int) -> ScanEvent | None:
        """One key event (value 1 down, 0 up, 2 repeat); a finished read when Enter comes."""
        modifier = MODIFIERS.get(code)
        if modifier is not None:
            if value == 1:
                self._held.add(modifier)
            elif value == 0:
                self._held.discard(modifier)
                if modifier == "alt" and self._alt_digits:
                    self._chars.append(chr(int(self._alt_digits) % 256))
                    self._alt_digits = ""
            return None
        if value != 1:
            return None  # releases, and autorepeat a scanner never means
        if code in (KEY_ENTER, KEY_KPENTER):
            return self._finish()
        if "alt" in self._held and code in KEYPAD_DIGITS:
            self._alt_digits += str(KEYPAD_DIGITS[code])
        elif "ctrl" in self._held:
            if code == KEY_RIGHTBRACE:
                self._chars.append(GS)
            else:
                self._bad += 1
        else:
            plain, shifted, altgr = self._keymap.get(code, ("", "", ""))
            char = altgr if "altgr" in self._held else shifted if "shift" in self._held else plain
            if char:
                self._chars.append(char)
            else:
                self._bad += 1
        if len(self._chars) > _MAX_PAYLOAD:
            self._reset()
            return _too_long(self.source)
        return None

    def _finish(self) -> ScanEvent | None:
        text, bad = "".join(self._chars), self._bad
        self._reset()
        if bad:
            return _unreadable(self.source, self.keymap_name, bad)
        if not text:
            return None
        return ScanPayload(_normalise_gs(text, self._substitutes).encode("utf-8"), self.source)

    def _reset(self) -> None:
        self._chars.clear()
        self._bad = 0
        self._alt_digits = ""


class SerialFramer:
    """Bytes of a serial/CDC scanner → payloads, one per CR, LF or CR LF."""

    def __init__(
        self, gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES, source: str = "serial"
    ) -> None:
        self._substitutes = tuple(gs_substitutes)
        self._buffer = bytearray()
        self.source = source

    @property
    def pending(self) -> bool:
        """True while bytes of an unfinished read are held."""
        return bool(self._buffer)

    def abandon(self) -> ScanRejected | None:
        """The bytes stopped before the terminator: drop them and say so."""
        if not self._buffer:
            return None
        self._buffer.clear()
        return _cut_short(self.source)

    def feed(self, data: bytes) -> list[ScanEvent]:
        """Some bytes; every read they complete."""
        events: list[ScanEvent] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buffer:
                    text = bytes(self._buffer).decode("latin-1")
                    data_out = _normalise_gs(text, self._substitutes).encode("latin-1")
                    events.append(ScanPayload(data_out, self.source))
                    self._buffer.clear()
            elif len(self._buffer) >= _MAX_PAYLOAD:
                self._buffer.clear()
                events.append(_too_long(self.source))
            else:
                self._buffer.append(byte)
        return events


def key_event(ev_type: int, code: int, value: int) -> tuple[int, int] | None:
    """The key part of an input event (``EV_KEY``); None for ``EV_MSC``, ``EV_SYN`` and the rest."""
    return (code, value) if ev_type == _EV_KEY else None


# --- the reconnecting event stream shared by all scanners --------------------------------

_Item = tuple[int, int] | bytes | None
"""A key event, some serial bytes, or None: the link is gone."""


class _Reconnecting:
    """Open the device, stream its reads, report unplugging, try again every ``retry_s``."""

    source: str

    def __init__(self, *, gap_s: float, retry_s: float) -> None:
        self.gap_s = gap_s
        self.retry_s = retry_s
        self._closed = False
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[_Item] | None = None

    async def _open(self, queue: asyncio.Queue[_Item]) -> Any:
        """Open the device and start feeding ``queue``; raise OSError when it is absent."""
        raise NotImplementedError

    async def _release(self, link: Any) -> None:
        """Undo :meth:`_open`."""

    def _decoder(self) -> WedgeDecoder | SerialFramer:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the stream."""
        self._closed = True
        self._wake.set()
        if self._queue is not None:
            self._queue.put_nowait(None)

    async def events(self) -> AsyncGenerator[ScanEvent, None]:
        """Reads and status changes until :meth:`close`."""
        announced: ScannerState | None = None
        while not self._closed:
            queue: asyncio.Queue[_Item] = asyncio.Queue()
            try:
                link = await self._open(queue)
            except OSError as exc:
                if announced is not ScannerState.DISCONNECTED:
                    announced = ScannerState.DISCONNECTED
                    yield ScanStatus(announced, self.source, str(exc))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.retry_s)
                continue
            self._queue = queue
            announced = ScannerState.CONNECTED
            yield ScanStatus(announced, self.source)
            try:
                async for event in self._reads(queue):
                    yield event
            finally:
                self._queue = None
                await self._release(link)
            if not self._closed:
                announced = ScannerState.DISCONNECTED
                yield ScanStatus(announced, self.source, "unplugged")

    async def _reads(self, queue: asyncio.Queue[_Item]) -> AsyncIterator[ScanEvent]:
        decoder = self._decoder()
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self.gap_s if decoder.pending else None)
            except TimeoutError:
                rejected = decoder.abandon()
                if rejected is not None:
                    yield rejected
                continue
            if item is None:
                rejected = decoder.abandon()
                if rejected is not None:
                    yield rejected
                return
            if isinstance(item, bytes):
                assert isinstance(decoder, SerialFramer)
                for event in decoder.feed(item):
                    yield event
            else:
                assert isinstance(decoder, WedgeDecoder)
                found = decoder.feed(*item)
                if found is not None:
                    yield found


class HidScanner(_Reconnecting):
    """A keyboard-wedge scanner read through evdev, grabbed so keystrokes stay ours."""

    def __init__(
        self,
        path: str = "/dev/input/kiosk-scanner",
        *,
        keymap: str = "azerty",
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        gap_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        super().__init__(gap_s=gap_s, retry_s=retry_s)
        self.path = path
        self.source = f"hid:{path}"
        self._keymap = keymap
        self._substitutes = tuple(gs_substitutes)

    def _decoder(self) -> WedgeDecoder:
        return WedgeDecoder(self._keymap, self._substitutes, self.source)

    async def _open(self, queue: asyncio.Queue[_Item]) -> Any:
        import evdev  # here only: importing this module must work without /dev/input

        device: Any = await asyncio.to_thread(evdev.InputDevice, self.path)
        try:
            device.grab()  # keystrokes never reach the console or the TUI
        except OSError:
            device.close()
            raise
        pump = asyncio.get_running_loop().create_task(self._pump(device, queue))
        return device, pump

    async def _pump(self, device: Any, queue: asyncio.Queue[_Item]) -> None:
        try:
            async for event in device.async_read_loop():
                key = key_event(event.type, event.code, event.value)
                if key is not None:
                    queue.put_nowait(key)
        except OSError:
            pass  # ENODEV: unplugged
        queue.put_nowait(None)

    async def _release(self, link: Any) -> None:
        device, pump = link
        pump.cancel()
        with contextlib.suppress(OSError):
            device.ungrab()
        with contextlib.suppress(OSError):
            device.close()


class SerialScanner(_Reconnecting):
    """A serial or USB-CDC scanner (``/dev/ttyACM0``…) read through pyserial."""

    def __init__(
        self,
        path: str = "/dev/kiosk-scanner-serial",
        *,
        baudrate: int = 9600,
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        gap_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        super().__init__(gap_s=gap_s, retry_s=retry_s)
        self.path = path
        self.baudrate = baudrate
        self.source = f"serial:{path}"
        self._substitutes = tuple(gs_substitutes)

    def _decoder(self) -> SerialFramer:
        return SerialFramer(self._substitutes, self.source)

    async def _open(self, queue: asyncio.Queue[_Item]) -> Any:
        import serial

        try:
            port = await asyncio.to_thread(serial.Serial, self.path, self.baudrate, timeout=0.1)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(str(exc)) from exc
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        thread = threading.Thread(
            target=self._pump, args=(port, queue, loop, stop), name="serial-scanner", daemon=True
        )
        thread.start()
        return port, stop, thread

    @staticmethod
    def _pump(
        port: Any,
        queue: asyncio.Queue[_Item],
        loop: asyncio.AbstractEventLoop,
        stop: threading.Event,
    ) -> None:
        import serial

        try:
            while not stop.is_set():
                data = port.read(256)
                if data:
                    loop.call_soon_threadsafe(queue.put_nowait, bytes(data))
        except (serial.SerialException, OSError):
            pass  # unplugged
        with contextlib.suppress(RuntimeError):  # the loop may be closing
            loop.call_soon_threadsafe(queue.put_nowait, None)

    async def _release(self, link: Any) -> None:
        port, stop, thread = link
        stop.set()
        await asyncio.to_thread(thread.join, 5)
        with contextlib.suppress(OSError):
            port.close()


def wedge_events(text: str, keymap: str = "azerty", *, gs: str = "ctrl") -> list[tuple[int, int]]:
    """The key events a wedge scanner set to ``keymap`` types for ``text``, then Enter.

    ``gs`` says how GS is typed: ``ctrl`` (Ctrl+]) or ``alt`` (Alt + keypad 0 2 9).
    """
    table = KEYMAPS[keymap]
    press = {"shift": 42, "altgr": 100}
    out: list[tuple[int, int]] = []
    for char in text:
        if char == GS:
            if gs == "alt":
                out += [(56, 1), (82, 1), (82, 0), (80, 1), (80, 0), (73, 1), (73, 0), (56, 0)]
            else:
                out += [(29, 1), (KEY_RIGHTBRACE, 1), (KEY_RIGHTBRACE, 0), (29, 0)]
            continue
        found = keystrokes_for(char, table)
        if found is None:
            raise InvalidInput(
                f"Caractère impossible à taper en {keymap.upper()} : {char!r}",
                f"Character not typeable on {keymap.upper()}: {char!r}",
            )
        modifiers, code = found
        out += [(press[m], 1) for m in sorted(modifiers)]
        out += [(code, 1), (code, 0)]
        out += [(press[m], 0) for m in sorted(modifiers)]
    return [*out, (KEY_ENTER, 1), (KEY_ENTER, 0)]


class SimulatedScanner(_Reconnecting):
    """A keyboard-wedge scanner in memory: ``scan()``, ``scan_cut()``, ``unplug()``, ``plug()``."""

    def __init__(
        self,
        *,
        keymap: str = "azerty",
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        gap_s: float = 0.3,
        retry_s: float = 0.05,
    ) -> None:
        super().__init__(gap_s=gap_s, retry_s=retry_s)
        self.source = "sim"
        self.keymap = keymap
        self._substitutes = tuple(gs_substitutes)
        self.plugged = True

    def _decoder(self) -> WedgeDecoder:
        return WedgeDecoder(self.keymap, self._substitutes, self.source)

    async def _open(self, queue: asyncio.Queue[_Item]) -> Any:
        if not self.plugged:
            raise OSError("simulated scanner unplugged")
        return None

    def keys(self, events: Sequence[tuple[int, int]]) -> None:
        """Deliver raw key events (a recorded stream, say) as the device would."""
        if self._queue is None:
            raise OSError("simulated scanner is not connected")
        for event in events:
            self._queue.put_nowait(event)

    def scan(self, payload: bytes | str, *, gs: str = "ctrl") -> None:
        """Type a whole symbol, then Enter."""
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        self.keys(wedge_events(text, self.keymap, gs=gs))

    def scan_cut(self, payload: bytes | str, keep: int) -> None:
        """Type only the first ``keep`` characters and stop (a read cut short)."""
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        self.keys(wedge_events(text[:keep], self.keymap)[:-2])

    def unplug(self) -> None:
        """Pull the cable."""
        self.plugged = False
        if self._queue is not None:
            self._queue.put_nowait(None)

    def plug(self) -> None:
        """Plug it back; the stream reconnects on its next retry."""
        self.plugged = True
        self._wake.set()
