"""The three ways bytes reach a receipt printer: raw TCP (port 9100), a device file, USB.

Each transport opens, writes, reads a short status answer, and closes; all of them
block and run in the print job's worker thread. Every failure is an ``OSError`` (a
missing device, a refused connection, a USB error); a status question the printer
leaves unanswered is a ``TimeoutError``. ESC/POS itself is written by
``kiosk.printing.receipt``: nothing here knows the bytes it carries.

USB goes through pyusb and libusb, loaded with the first USB job: the printer's
first interface, its bulk OUT endpoint for the job and its bulk IN endpoint for the
status answers (as the printer describes them, not fixed addresses), the kernel's
``usblp`` driver detached for the time of the job.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any, BinaryIO, Protocol

__all__ = ["FileTransport", "TcpTransport", "Transport", "UsbTransport", "UsbUnavailable"]

_ANSWER_BYTES = 16
"""Enough for any DLE EOT answer (one byte each)."""


class Transport(Protocol):
    """One connection to a printer, opened for a job and closed after it."""

    def open(self) -> None:
        """Connect; ``OSError`` when the printer is not there."""
        ...

    def write(self, data: bytes) -> None:
        """Send ``data`` whole."""
        ...

    def read(self, timeout_s: float) -> bytes:
        """The printer's next answer; ``TimeoutError`` if none comes in ``timeout_s``."""
        ...

    def close(self) -> None:
        """Release the connection (never raises)."""
        ...


class UsbUnavailable(OSError):
    """pyusb or libusb cannot be used on this machine."""


class TcpTransport:
    """A network printer on raw TCP."""

    def __init__(self, host: str, port: int, *, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._sock: socket.socket | None = None

    def open(self) -> None:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)

    def write(self, data: bytes) -> None:
        self._connected().settimeout(self.timeout_s)
        self._connected().sendall(data)

    def read(self, timeout_s: float) -> bytes:
        sock = self._connected()
        sock.settimeout(timeout_s)
        return sock.recv(_ANSWER_BYTES)  # b"" when the printer closed the connection

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _connected(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionError(f"{self.host}:{self.port}: not connected")
        return self._sock


class FileTransport:
    """A printer device file (``/dev/kiosk-printer`` through ``usblp``): writes only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None

    def open(self) -> None:
        self._file = self.path.open("wb", buffering=0)

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ConnectionError(f"{self.path}: not open")
        self._file.write(data)

    def read(self, timeout_s: float) -> bytes:
        raise TimeoutError(f"{self.path}: a device file gives no status")

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()


class UsbTransport:
    """A USB printer driven directly through pyusb."""

    def __init__(self, vendor_id: int, product_id: int, *, timeout_s: float = 10.0) -> None:
        self.vendor_id, self.product_id, self.timeout_s = vendor_id, product_id, timeout_s
        self._device: Any = None
        self._out: Any = None
        self._in: Any = None

    @property
    def name(self) -> str:
        """``usb:VVVV:PPPP``."""
        return f"usb:{self.vendor_id:04x}:{self.product_id:04x}"

    def open(self) -> None:
        usb = _pyusb()
        try:
            device = usb.core.find(idVendor=self.vendor_id, idProduct=self.product_id)
        except usb.core.NoBackendError as exc:
            raise UsbUnavailable(f"{self.name}: no libusb backend") from exc
        if device is None:
            raise FileNotFoundError(f"{self.name}: not plugged in")
        try:
            with contextlib.suppress(NotImplementedError, usb.core.USBError):
                if device.is_kernel_driver_active(0):
                    device.detach_kernel_driver(0)
            with contextlib.suppress(usb.core.USBError):  # already configured: keep it
                device.set_configuration()
            interface = device.get_active_configuration()[(0, 0)]
            self._out = _endpoint(usb, interface, usb.util.ENDPOINT_OUT)
            self._in = _endpoint(usb, interface, usb.util.ENDPOINT_IN)
        except usb.core.USBError as exc:
            usb.util.dispose_resources(device)
            raise ConnectionError(f"{self.name}: {exc}") from exc
        if self._out is None:
            usb.util.dispose_resources(device)
            raise ConnectionError(f"{self.name}: no bulk OUT endpoint")
        self._device = device

    def write(self, data: bytes) -> None:
        usb = _pyusb()
        try:
            self._out.write(data, int(self.timeout_s * 1000))
        except usb.core.USBError as exc:
            raise ConnectionError(f"{self.name}: {exc}") from exc

    def read(self, timeout_s: float) -> bytes:
        if self._in is None:
            raise TimeoutError(f"{self.name}: no status endpoint")
        usb = _pyusb()
        try:
            return bytes(self._in.read(_ANSWER_BYTES, int(timeout_s * 1000)))
        except usb.core.USBTimeoutError as exc:
            raise TimeoutError(f"{self.name}: no answer") from exc
        except usb.core.USBError as exc:
            raise ConnectionError(f"{self.name}: {exc}") from exc

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):  # the cable may be gone already
                _pyusb().util.dispose_resources(device)


class _PyUsb:
    """pyusb's two modules, loaded on first use."""

    def __init__(self) -> None:
        import usb.core
        import usb.util

        self.core = usb.core
        self.util = usb.util


_LOADED: list[_PyUsb] = []


def _pyusb() -> _PyUsb:
    if not _LOADED:
        try:
            _LOADED.append(_PyUsb())
        except ImportError as exc:
            raise UsbUnavailable("pyusb is not installed") from exc
    return _LOADED[0]


def _endpoint(usb: _PyUsb, interface: Any, direction: int) -> Any:
    """The interface's first bulk endpoint in ``direction``, or None."""
    return usb.util.find_descriptor(
        interface,
        custom_match=lambda e: (
            usb.util.endpoint_direction(e.bEndpointAddress) == direction
            and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        ),
    )
