"""Real ESC/POS printers: TCP 9100, device file, USB (:mod:`kiosk.printing.transports`).

Jobs arrive as finished ESC/POS bytes (``kiosk.printing.receipt`` does all the
encoding); a printer opens its transport, asks for the printer's state
(``DLE EOT 1/2/4``), sends the bytes, asks again, and closes. The second question is
what tells "paper ran out half way" from "printed": a thermal printer accepts the
rest of a job into its buffer and drops it silently otherwise.

The transports are the kiosk's own (a socket, a file, pyusb): python-escpos, used
before, brought its whole document API (its YAML capabilities, barcodes, QR codes,
Pillow: ~10 MiB and ~50 ms at start) for the three calls a finished job needs.

Each job runs in ``asyncio.to_thread``. Every failure becomes a
:class:`PrinterError` with a French and an English message; the job itself is never
dropped here (the session's :class:`~kiosk.printing.queue.PrintQueue` keeps it for
a reprint).

USB: two ways, both configured from ``hw/printers/*.toml``. Directly through pyusb and
libusb (``kind = "usb"``), which also reads the printer's status; or through the
kernel's ``usblp`` driver, whose udev rule (``hw/udev/60-kiosk-printer.rules``) names
the printer ``/dev/kiosk-printer`` for the device-file backend (writes only, no status).
Without a usable libusb the USB backend says so and points to the device file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from kiosk.errors import PrinterError
from kiosk.locale import Message, msg
from kiosk.printing.ports import (
    UNKNOWN_STATUS,
    PrinterStatus,
    PrintJob,
    parse_status,
)
from kiosk.printing.transports import (
    FileTransport,
    TcpTransport,
    Transport,
    UsbTransport,
    UsbUnavailable,
)

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


class EscposPrinter:
    """A :class:`~kiosk.printing.ports.ReceiptPrinter` over one printer transport."""

    def __init__(
        self,
        make_transport: Callable[[], Transport],
        *,
        name: str,
        status_queries: bool = True,
        status_timeout_s: float = 2.0,
    ) -> None:
        self._make_transport = make_transport
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
            lambda: TcpTransport(host, port, timeout_s=timeout_s),
            name=f"tcp://{host}:{port}",
            status_queries=status_queries,
        )

    @classmethod
    def device_file(cls, path: Path) -> EscposPrinter:
        """A printer device file such as ``/dev/kiosk-printer`` (usblp); writes only."""
        return cls(lambda: FileTransport(path), name=str(path), status_queries=False)

    @classmethod
    def usb(cls, vendor_id: int, product_id: int, *, status_queries: bool = True) -> EscposPrinter:
        """A USB printer driven directly through pyusb."""
        return cls(
            lambda: UsbTransport(vendor_id, product_id),
            name=f"usb:{vendor_id:04x}:{product_id:04x}",
            status_queries=status_queries,
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

    def _open(self) -> Transport:
        transport = self._make_transport()
        try:
            transport.open()
        except UsbUnavailable as exc:
            raise printer_error(PrinterFault.USB_UNSUPPORTED, f"{self.name}: {exc}") from exc
        except OSError as exc:
            transport.close()
            raise printer_error(PrinterFault.UNREACHABLE, f"{self.name}: {exc}") from exc
        return transport

    def _status_blocking(self) -> PrinterStatus:
        transport = self._open()
        try:
            return self._query(transport, mid_job=False)
        finally:
            transport.close()

    def _print_blocking(self, job: PrintJob) -> None:
        transport = self._open()
        try:
            before = self._query(transport, mid_job=False)
            fault = _status_fault(before)
            if fault is not None:
                raise printer_error(fault, self.name)
            try:
                transport.write(job.escpos)
            except OSError as exc:
                raise printer_error(PrinterFault.CONNECTION_LOST, f"{self.name}: {exc}") from exc
            after = self._query(transport, mid_job=True)
            if after.known and after.paper_out:
                raise printer_error(PrinterFault.PAPER_OUT_MID_JOB, self.name)
            fault = _status_fault(after)
            if fault is not None:
                raise printer_error(fault, f"{self.name} after sending")
            log.info("printed %s on %s (%d bytes)", job.job_id, self.name, len(job.escpos))
        finally:
            transport.close()

    def _query(self, transport: Transport, *, mid_job: bool) -> PrinterStatus:
        if not self.status_queries:
            return UNKNOWN_STATUS
        # A printer that never answers must not hold a job for the connect timeout.
        timeout_s = self.status_timeout_s * (5 if mid_job else 1)
        answers: list[int] = []
        for n in (1, 2, 4):
            try:
                transport.write(_DLE_EOT + bytes((n,)))
                reply = transport.read(timeout_s)
            except TimeoutError:
                return UNKNOWN_STATUS
            except OSError as exc:
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
