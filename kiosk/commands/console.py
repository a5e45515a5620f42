"""``kiosk console``: what the appliance's tty1 runs (``firmware_cfg/systemd/kiosk.service``).

* A desk (``mode = "desk"``) runs ``kiosk run`` right on the text console: this process
  becomes it (``exec``), so systemd's main PID is the app.
* Self-service runs it inside ``foot`` (large text, the site's ``selfservice.font_size``)
  on ``cage``, a Wayland compositor that shows one full-screen window and forbids VT
  switching; the app's READY/WATCHDOG reach systemd through NOTIFY_SOCKET, which both
  pass down (the unit says ``NotifyAccess=all``).
* ``--lock`` / ``--unlock DEVICE`` forbid or allow Alt+Fn console switching
  (``VT_LOCKSWITCH``, as vlock does), for ``kiosk-console.service`` (needs
  CAP_SYS_TTY_CONFIG).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

import click

from kiosk.commands.context import CliContext
from kiosk.errors import Unavailable
from kiosk.locale import msg

__all__ = ["VT_LOCKSWITCH", "VT_UNLOCKSWITCH", "console", "console_argv"]

VT_LOCKSWITCH = 0x560B
"""linux/vt.h: disallow virtual-terminal switching."""

VT_UNLOCKSWITCH = 0x560C
"""linux/vt.h: allow it again."""


def console_argv(mode: str, font_size: int, kiosk: str) -> list[str]:
    """The command tty1 runs for ``mode``: the app itself, or the app in foot on cage."""
    if mode != "selfservice":
        return [kiosk, "run", "--mode", "desk"]
    return [
        "cage",
        "--",
        "foot",
        "--override",
        f"font=DejaVu Sans Mono:size={font_size}",
        "--override",
        "cursor.blink=no",
        "--",
        kiosk,
        "run",
        "--mode",
        "self",
    ]


def _switching(device: Path, request: int) -> None:
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.ioctl(fd, request)
    finally:
        os.close(fd)


@click.command()
@click.option("--lock", "lock", type=click.Path(path_type=Path), default=None)
@click.option("--unlock", "unlock", type=click.Path(path_type=Path), default=None)
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@click.pass_obj
def console(obj: CliContext, lock: Path | None, unlock: Path | None, dry_run: bool) -> None:
    """Run the kiosk on this console as the site's mode says (the appliance's tty1)."""
    for device, request in ((lock, VT_LOCKSWITCH), (unlock, VT_UNLOCKSWITCH)):
        if device is not None:
            try:
                _switching(device, request)
            except OSError as exc:
                raise Unavailable(
                    msg("commands.console.vt", device=device, reason=exc.strerror)
                ) from exc
            return
    settings = obj.settings
    kiosk = str(Path(sys.argv[0]).resolve()) if Path(sys.argv[0]).name == "kiosk" else "kiosk"
    argv = console_argv(settings.mode, settings.selfservice.font_size, kiosk)
    if dry_run:
        click.echo(" ".join(argv))
        return
    program = shutil.which(argv[0])
    if program is None:
        raise Unavailable(msg("commands.console.missing", program=argv[0]))
    os.execv(program, argv)  # noqa: S606 (a fixed argv, no shell: the unit's main process)
