"""Real ESC/POS printers through python-escpos: TCP 9100, device file, USB.

The only module that imports ``escpos``. Jobs arrive as finished ESC/POS bytes
(``kiosk.printing.receipt`` does all the encoding); a backend opens its device, asks
for the printer's state (``DLE EOT 1/2/4``), sends the bytes, asks again, and closes.
The second question is what tells "paper ran out half way" from "printed": a thermal
printer accepts the rest of a job into its buffer and drops it silently otherwise.

python-escpos loads with the first job or status question, not at start: its import
(its capabilities, PyYAML, qrcode, pyusb, pyserial) costs ~50 ms and ~15 MiB that a
desk waiting for its first agent does not need.

python-escpos calls block, so each job runs in ``asyncio.to_thread``. Every failure
becomes a :class:`PrinterError` with a French and an English message; the job itself
is never dropped here (the session's :class:`~kiosk.printing.queue.PrintQueue` keeps
it for a reprint).

USB: two ways, both configured from ``hw/printers/*.toml``. Directly through pyusb and
libusb (``kind = "usb"``), which also reads the printer's status; or through the
kernel's ``usblp`` driver, whose udev rule (``hw/udev/60-kiosk-printer.rules``) names
the printer ``/dev/kiosk-printer`` for the device-file backend (writes only, no status).
Without a usable libusb the USB backend says so and points to the device file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.errors import PrinterError
from kiosk.locale import Message, msg
from kiosk.printing.ports import (
    UNKNOWN_STATUS,
    PrinterStatus,
    PrintJob,
    parse_status,
)


def _capabilities_cache() -> None:
    """Give python-escpos a lasting place for its parsed capabilities, before it loads.

    Without one it parses its YAML profile file on every start (0.5–0.8 s of the
    kiosk's cold start here) and pickles the result into a new temporary directory
    each time. ``ESCPOS_CAPABILITIES_PICKLE_DIR`` set by the site or the unit wins.
    """
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for folder in (Path(home) / "kiosk" / "escpos", Path(tempfile.gettempdir()) / "kiosk-escpos"):
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(folder)
                return


__all__ = ["EscposPrinter", "PrintFailed", "PrinterFault", "printer_error"]

log = logging.getLogger(__name__)

_DLE_EOT = b"\x10\x04"


class PrinterFault(Enum):
    """Why a print did not happen; one message pair per reason."""

    UNREACHABLE = "unreachable"
    OFFLINE = "offline"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    PAPER_OUT_MID_JOB = "paper_out_mid_job"
    CONNECTION_LOST = "connection_lost"
    USB_UNSUPPORTED = "usb_unsupported"


_MESSAGES: dict[PrinterFault, Message] = {
    PrinterFault.UNREACHABLE: msg("printing.fault.unreachable"),
    PrinterFault.OFFLINE: msg("printing.fault.offline"),
    PrinterFault.PAPER_OUT: msg("printing.fault.paper_out"),
    PrinterFault.COVER_OPEN: msg("printing.fault.cover_open"),
    PrinterFault.PAPER_OUT_MID_JOB: msg("printing.fault.paper_out_mid_job"),
    PrinterFault.CONNECTION_LOST: msg("printing.fault.connection_lost"),
    PrinterFault.USB_UNSUPPORTED: msg("printing.fault.usb_unsupported"),
}


class PrintFailed(PrinterError):
    """A :class:`PrinterError` that knows its :class:`PrinterFault`, for callers that branch."""

    def __init__(self, fault: PrinterFault, detail: str = "") -> None:
        super().__init__(
            _MESSAGES[fault], detail=f"{fault.value}: {detail}" if detail else fault.value
        )
        self.fault = fault


def printer_error(fault: PrinterFault, detail: str = "") -> PrintFailed:
    """The user-facing error for ``fault``."""
    return PrintFailed(fault, detail)


def _status_fault(status: PrinterStatus) -> PrinterFault | None:
    if status.ready:
        return None
    if status.cover_open:
        return PrinterFault.COVER_OPEN
    if status.paper_out:
        return PrinterFault.PAPER_OUT
    return PrinterFault.OFFLINE


@dataclass(frozen=True)
class _Escpos:
    """What this module takes from python-escpos, once it is loaded."""

    network: Callable[..., Any]
    file: Callable[..., Any]
    usb: Any
    open_errors: tuple[type[BaseException], ...]
    """What opening a device raises when it is not there."""
    errors: tuple[type[BaseException], ...]
    """What a device raises while it is used."""


@functools.cache
def _escpos() -> _Escpos:
    """python-escpos, loaded on first use (in the job's worker thread)."""
    _capabilities_cache()
    from escpos.exceptions import DeviceNotFoundError
    from escpos.exceptions import Error as EscposError
    from escpos.printer import File, Network, Usb

    class _Network(Network):  # type: ignore[misc]
        """python-escpos's TCP printer, opening its socket without leaking it on failure."""

        def open(self, raise_not_found: bool = True) -> None:
            # The stock open() leaves the socket unclosed when connect() fails.
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                self.device = None
                raise DeviceNotFoundError(f"{self.host}:{self.port}: {exc}") from exc
            self.device = sock

        def close(self) -> None:
            sock: object = getattr(self, "_device", False)
            self._device = False
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    return _Escpos(
        network=_Network,
        file=File,
        usb=Usb,
        open_errors=(DeviceNotFoundError, EscposError, OSError),
        errors=(EscposError, OSError),
    )


class EscposPrinter:
    """A :class:`~kiosk.printing.ports.ReceiptPrinter` over one python-escpos device."""

    def __init__(
        self,
        make_device: Callable[[], Any],
        *,
        name: str,
        status_queries: bool = True,
        status_timeout_s: float = 2.0,
    ) -> None:
        self._make_device = make_device
        self._device: Any = None
        self._lock = asyncio.Lock()
        self.name = name
        self.status_queries = status_queries
        self.status_timeout_s = status_timeout_s

    @classmethod
    def network(
        cls, host: str, port: int = 9100, *, timeout_s: float = 10.0, status_queries: bool = True
    ) -> EscposPrinter:
        """A network printer (raw TCP, port 9100 by default)."""
        return cls(
            lambda: _escpos().network(host, port, timeout=timeout_s),
            name=f"tcp://{host}:{port}",
            status_queries=status_queries,
        )

    @classmethod
    def device_file(cls, path: Path) -> EscposPrinter:
        """A printer device file such as ``/dev/kiosk-printer`` (usblp); writes only."""
        return cls(lambda: _escpos().file(str(path)), name=str(path), status_queries=False)

    @classmethod
    def usb(cls, vendor_id: int, product_id: int, *, status_queries: bool = True) -> EscposPrinter:
        """A USB printer driven directly through pyusb."""

        def make() -> Any:
            usb = _escpos().usb
            if not usb.is_usable():
                raise printer_error(PrinterFault.USB_UNSUPPORTED)
            return usb(vendor_id, product_id, timeout=10_000)

        return cls(
            make, name=f"usb:{vendor_id:04x}:{product_id:04x}", status_queries=status_queries
        )

    async def print(self, job: PrintJob) -> None:
        """Send ``job``; raises :class:`PrinterError` unless the printer took it all."""
        async with self._lock:
            await asyncio.to_thread(self._print_blocking, job)

    async def status(self) -> PrinterStatus:
        """Ask the printer; unknown when it does not answer status queries."""
        async with self._lock:
            return await asyncio.to_thread(self._status_blocking)

    # --- blocking part, run in a worker thread ------------------------------------------

    def _open(self) -> Any:
        if self._device is None:
            self._device = self._make_device()
        try:
            self._device.open()
        except _escpos().open_errors as exc:
            raise printer_error(PrinterFault.UNREACHABLE, f"{self.name}: {exc}") from exc
        return self._device

    def _close(self, device: Any) -> None:
        with contextlib.suppress(*_escpos().errors):
            device.close()

    def _status_blocking(self) -> PrinterStatus:
        device = self._open()
        try:
            return self._query(device, mid_job=False)
        finally:
            self._close(device)

    def _print_blocking(self, job: PrintJob) -> None:
        device = self._open()
        try:
            before = self._query(device, mid_job=False)
            fault = _status_fault(before)
            if fault is not None:
                raise printer_error(fault, self.name)
            try:
                device._raw(job.escpos)
            except _escpos().errors as exc:
                raise printer_error(PrinterFault.CONNECTION_LOST, f"{self.name}: {exc}") from exc
            after = self._query(device, mid_job=True)
            if after.known and after.paper_out:
                raise printer_error(PrinterFault.PAPER_OUT_MID_JOB, self.name)
            fault = _status_fault(after)
            if fault is not None:
                raise printer_error(fault, f"{self.name} after sending")
            log.info("printed %s on %s (%d bytes)", job.job_id, self.name, len(job.escpos))
        finally:
            self._close(device)

    def _query(self, device: Any, *, mid_job: bool) -> PrinterStatus:
        if not self.status_queries:
            return UNKNOWN_STATUS
        sock = device.device if isinstance(device.device, socket.socket) else None
        if sock is not None:
            # A printer that never answers must not hold a job for the connect timeout.
            sock.settimeout(self.status_timeout_s * (5 if mid_job else 1))
        unanswered: tuple[type[BaseException], ...] = (*_escpos().errors, NotImplementedError)
        answers: list[int] = []
        for n in (1, 2, 4):
            try:
                device._raw(_DLE_EOT + bytes((n,)))
                reply = device._read()
            except TimeoutError:
                return UNKNOWN_STATUS
            except unanswered as exc:
                if mid_job or isinstance(exc, ConnectionError):
                    raise printer_error(
                        PrinterFault.CONNECTION_LOST, f"{self.name}: {exc}"
                    ) from exc
                return UNKNOWN_STATUS
            if not reply:
                # End of stream: the printer closed the connection.
                raise printer_error(PrinterFault.CONNECTION_LOST, f"{self.name}: closed")
            answers.append(reply[-1])
        return parse_status(*answers)
