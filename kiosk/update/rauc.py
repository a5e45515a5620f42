"""RAUC driven through its command line (which talks to ``rauc service`` over D-Bus).

``rauc info`` checks a bundle's signature against the keyring of ``system.conf``
(``check-purpose=codesign``) and its compatible before anything is written; ``rauc
install`` writes the other slot (boot + rootfs) and calls the tryboot backend;
``rauc status mark-good|mark-bad booted`` judge the slot running. The reboot into the
trial slot is the Pi firmware's one-time ``reboot "0 tryboot"``. Every call is bounded
and its failure is one :class:`UpdateError` with RAUC's last line as detail.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.errors import UpdateError
from kiosk.locale import msg

__all__ = ["BundleInfo", "Rauc"]


@dataclass(frozen=True)
class BundleInfo:
    """What ``rauc info`` says of a verified bundle."""

    compatible: str
    version: str


@dataclass
class Rauc:
    """The ``rauc`` binary with this kiosk's ``system.conf``."""

    conf: Path | None = None
    """None: RAUC's compiled-in ``/etc/rauc/system.conf``."""
    binary: str = "rauc"
    env: dict[str, str] = field(default_factory=dict)
    """Added to the environment (tests: ``DBUS_STARTER_BUS_TYPE=session``)."""
    timeout_s: float = 900.0
    reboot_command: Sequence[str] = ("systemctl", "reboot", "0 tryboot")
    """The one-time tryboot reboot (systemd hands the argument to the firmware)."""
    fallback_command: Sequence[str] = ("systemctl", "reboot")

    async def _run(self, *args: str, timeout_s: float | None = None) -> str:
        conf = (f"--conf={self.conf}",) if self.conf is not None else ()
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary,
                *conf,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **self.env},
            )
        except OSError as exc:
            raise UpdateError(msg("update.rauc.missing"), detail=str(exc)) from exc
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout_s or self.timeout_s)
        except TimeoutError as exc:
            process.kill()
            await process.wait()
            raise UpdateError(
                msg("update.rauc.timeout", command=args[0]), detail=" ".join(args)
            ) from exc
        if process.returncode != 0:
            lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
            detail = lines[-1] if lines else f"exit {process.returncode}"
            raise UpdateError(
                msg("update.rauc.failed", command=args[0], detail=detail), detail=detail
            )
        return out.decode(errors="replace")

    async def info(self, bundle: Path) -> BundleInfo:
        """Verify ``bundle`` (signature, keyring purpose, compatible) and read its version."""
        text = await self._run("info", "--output-format=json", str(bundle), timeout_s=120)
        try:
            data = json.loads(text)
            return BundleInfo(str(data["compatible"]), str(data["version"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise UpdateError(msg("update.rauc.unreadable"), detail=text[-200:]) from exc

    async def install(self, bundle: Path) -> None:
        """Write ``bundle`` into the slots not running; the backend points tryboot at them."""
        await self._run("install", str(bundle))

    async def mark(self, good: bool) -> None:
        """Judge the slot running now."""
        await self._run("status", "mark-good" if good else "mark-bad", "booted", timeout_s=60)

    async def status(self) -> dict[str, object]:
        """``rauc status`` as JSON (booted slot, slots, their states)."""
        text = await self._run("status", "--output-format=json", timeout_s=60)
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise UpdateError(msg("update.rauc.unreadable"), detail=text[-200:]) from exc
        return found if isinstance(found, dict) else {}

    async def reboot(self, *, trial: bool) -> None:
        """Reboot: once into the trial slot (tryboot), or plainly into the committed one."""
        command = self.reboot_command if trial else self.fallback_command
        process = await asyncio.create_subprocess_exec(*command)
        if await process.wait() != 0:
            raise UpdateError(msg("update.rauc.reboot_failed"), detail=" ".join(command))
