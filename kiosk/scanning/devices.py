"""2D scanners: HID keyboard wedges (evdev, grabbed), serial/CDC (pyserial), and a simulator.

All three yield :mod:`kiosk.scanning.ports` events and survive unplugging: a status
event when the device goes, another when it is back, reads in between are simply
not there. A read is complete at Enter (wedge) or CR/LF (serial); keys or bytes that
stop arriving before that for ``gap_s`` make a :class:`ScanRejected` ("cut short"),
and the next scan starts clean.

HID: the device is grabbed (``EVIOCGRAB``) so its keystrokes never reach the TUI or
the console; key events become reads in ``kiosk.scanning.framing`` (layouts, GS).
evdev is imported only when a HID scanner opens, so this module imports on machines
without ``/dev/input``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from kiosk.scanning.framing import (
    DEFAULT_GS_SUBSTITUTES,
    SerialFramer,
    WedgeDecoder,
    key_event,
    wedge_events,
)
from kiosk.scanning.ports import ScanEvent, ScannerState, ScanStatus

__all__ = ["HidScanner", "SerialScanner", "SimulatedScanner", "SocketScanner"]

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


class SocketScanner(_Reconnecting):
    """A scanner whose bytes arrive on a Unix socket, framed as a serial scanner's (CR/LF).

    The simulated world's scanner (``kiosk/sim/scanner.py``) is one: any process
    makes it read a label (``kiosk sim scan``), and every kiosk listening gets it.
    """

    def __init__(
        self,
        path: str,
        *,
        gs_substitutes: Sequence[str] = DEFAULT_GS_SUBSTITUTES,
        gap_s: float = 0.5,
        retry_s: float = 0.5,
    ) -> None:
        super().__init__(gap_s=gap_s, retry_s=retry_s)
        self.path = path
        self.source = f"socket:{path}"
        self._substitutes = tuple(gs_substitutes)

    def _decoder(self) -> SerialFramer:
        return SerialFramer(self._substitutes, self.source)

    async def _open(self, queue: asyncio.Queue[_Item]) -> Any:
        reader, writer = await asyncio.open_unix_connection(self.path)
        writer.write(b"listen\n")
        await writer.drain()
        pump = asyncio.get_running_loop().create_task(self._pump(reader, queue))
        return writer, pump

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, queue: asyncio.Queue[_Item]) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(4096):
                queue.put_nowait(data)
        queue.put_nowait(None)  # the scanner went away

    async def _release(self, link: Any) -> None:
        writer, pump = link
        pump.cancel()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


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
