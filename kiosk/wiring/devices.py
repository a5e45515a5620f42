"""The desk's devices from their sections: card readers, CPS/CPE module, printer, scanner.

``cards.kind = "sim"`` talks to the running world's private pcscd and SoftHSM2
tokens (its ``PCSCLITE_CSOCK_NAME`` and ``SOFTHSM2_CONF``, unless already set);
``"pcsc"`` to the system's, whatever world runs. ``printer.kind = "sim"`` is the
running world's simulated printer, or none (the caller may start a private one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import ScannerConfig, Settings
from kiosk.errors import ConfigError, InvalidInput, PrinterError, Unavailable
from kiosk.locale import msg
from kiosk.wiring.world import use_world_devices, world_facts

if TYPE_CHECKING:
    from kiosk.cards.pcsc import PcscChannel, PcscMonitor
    from kiosk.cards.pkcs11 import CpsModule
    from kiosk.cards.vitale import PcscVitaleReader, ReadJob
    from kiosk.domain.vitale import VitaleCardData
    from kiosk.printing.ports import ReceiptPrinter
    from kiosk.printing.profiles import PrinterProfile
    from kiosk.scanning.devices import HidScanner, SerialScanner, SimulatedScanner, SocketScanner

__all__ = [
    "CardReaders",
    "PrinterTarget",
    "build_card_monitor",
    "build_card_reader",
    "build_cps",
    "build_printer",
    "build_scanner",
    "private_sim_printer",
]

_PCSC_ENV = ("PCSCLITE_CSOCK_NAME",)
_TOKEN_ENV = ("PCSCLITE_CSOCK_NAME", "SOFTHSM2_CONF")


@dataclass(frozen=True)
class CardReaders:
    """The PC/SC readers chosen by ``cards.kind``: slots, APDU channels, Vitale reads."""

    timeout_s: float

    def slots(self) -> list[tuple[str, bytes | None]]:
        """Every slot now, with the ATR of its card or None."""
        from kiosk.cards.pcsc import slot_states

        return slot_states()

    async def open_channel(self, reader: str) -> PcscChannel:
        """An APDU channel to the card in ``reader``."""
        from kiosk.cards.pcsc import PcscChannel

        return await PcscChannel.open(reader, timeout_s=self.timeout_s)

    async def exchange(self, reader: str, job: ReadJob) -> VitaleCardData:
        """Connect to the card in ``reader``, run ``job``, release: on one thread, in one hop."""
        from kiosk.cards.pcsc import exchange

        return await exchange(reader, job, timeout_s=self.timeout_s)

    @property
    def vitale(self) -> PcscVitaleReader:
        """The Vitale reader over these readers."""
        from kiosk.cards.vitale import PcscVitaleReader

        return PcscVitaleReader(self.exchange)


def build_card_reader(settings: Settings, state_dir: Path | None = None) -> CardReaders:
    """The readers of ``cards.kind``: the world's pcscd for ``sim``, the system's for ``pcsc``."""
    use_world_devices(settings, state_dir, keys=_PCSC_ENV)
    return CardReaders(settings.cards.operation_timeout_s)


def build_card_monitor(
    settings: Settings, state_dir: Path | None = None, *, poll_ms: int = 250
) -> PcscMonitor:
    """Reader and card events on the readers :func:`build_card_reader` picks."""
    use_world_devices(settings, state_dir, keys=_PCSC_ENV)
    from kiosk.cards.atr import CardProfiles
    from kiosk.cards.pcsc import PcscMonitor

    return PcscMonitor(CardProfiles.load(settings.cards.profiles_dir), poll_ms=poll_ms)


def build_cps(settings: Settings, state_dir: Path | None = None) -> CpsModule:
    """The CPS/CPE PKCS#11 module; in simulation with the world's 3-try PIN lock."""
    use_world_devices(settings, state_dir, keys=_TOKEN_ENV)
    from kiosk.cards.pinlock import SimulatedPinLock
    from kiosk.cards.pkcs11 import CpsModule

    cards = settings.cards
    pin_lock = None
    if cards.kind == "sim":
        conf = os.environ.get("SOFTHSM2_CONF")
        if conf is None:
            raise Unavailable(
                msg("wiring.devices.build_cps"),
            )
        pin_lock = SimulatedPinLock(Path(conf).parent / "pin-tries")  # see kiosk/sim/hsm.py
    return CpsModule(cards.pkcs11_module, pin_lock=pin_lock)


@dataclass(frozen=True)
class PrinterTarget:
    """A chosen printer, the name to show, and where a simulator keeps its jobs."""

    printer: ReceiptPrinter
    name: str
    jobs_dir: Path | None = None


def build_printer(
    settings: Settings, profile: PrinterProfile, state_dir: Path | None = None
) -> PrinterTarget | None:
    """The configured printer; None for ``kind = "sim"`` with no world running."""
    from kiosk.printing.printers import EscposPrinter

    cfg = settings.printer
    if cfg.kind == "network":
        printer = EscposPrinter.network(cfg.host, cfg.port, status_queries=profile.status_queries)
        return PrinterTarget(printer, printer.name)
    if cfg.kind == "file":
        printer = EscposPrinter.device_file(cfg.device)
        return PrinterTarget(printer, printer.name)
    if cfg.kind == "usb":
        if not profile.usb:
            raise InvalidInput(
                msg("wiring.devices.build_printer_2", key=profile.key),
            )
        printer = EscposPrinter.usb(profile.usb[0].vendor_id, profile.usb[0].product_id)
        return PrinterTarget(printer, printer.name)
    if cfg.kind == "none":
        raise PrinterError(
            msg("wiring.devices.build_printer"),
        )
    found = world_facts(settings, state_dir).get("printer")
    if isinstance(found, dict):
        printer = EscposPrinter.network(str(found["host"]), int(found["port"]))
        return PrinterTarget(printer, printer.name, Path(str(found["jobs_dir"])))
    return None


@contextlib.asynccontextmanager
async def private_sim_printer(
    profile: PrinterProfile,
) -> AsyncIterator[tuple[PrinterTarget, Callable[[], bytes | None]]]:
    """A simulated printer for the block (no world runs), and the PNG of its last job."""
    from kiosk.printing.printers import EscposPrinter
    from kiosk.sim.printer.device import SimulatedPrinter

    async with SimulatedPrinter(width_dots=profile.width_dots) as sim:
        printer = EscposPrinter.network(sim.host, sim.port)
        yield (
            PrinterTarget(printer, f"{printer.name} (simulated)"),
            lambda: sim.jobs[-1].png if sim.jobs else None,
        )


def build_scanner(
    cfg: ScannerConfig, facts: Mapping[str, object] | None = None
) -> HidScanner | SerialScanner | SimulatedScanner | SocketScanner:
    """The 2D scanner of ``[scanner]``; ``kind = "none"`` is a configuration error.

    ``kind = "sim"`` is the running world's scanner when ``facts`` (the world's) name
    its socket, so ``kiosk sim scan`` reaches this process; else one in memory.
    """
    from kiosk.scanning.devices import HidScanner, SerialScanner, SimulatedScanner, SocketScanner

    if cfg.kind == "hid":
        return HidScanner(
            cfg.device or "/dev/input/kiosk-scanner",
            keymap=cfg.keymap,
            gs_substitutes=cfg.gs_substitutes,
        )
    if cfg.kind == "serial":
        return SerialScanner(
            cfg.device or "/dev/kiosk-scanner-serial", gs_substitutes=cfg.gs_substitutes
        )
    if cfg.kind == "sim":
        found = (facts or {}).get("scanner_socket")
        if isinstance(found, str) and found:
            return SocketScanner(found, gs_substitutes=cfg.gs_substitutes)
        return SimulatedScanner(keymap=cfg.keymap, gs_substitutes=cfg.gs_substitutes)
    raise ConfigError(
        msg("wiring.devices.build_scanner"),
    )
