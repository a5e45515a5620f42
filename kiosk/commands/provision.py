"""``kiosk provision``: put a site on this kiosk from one file, or wipe the kiosk's data.

* ``kiosk provision FILE`` checks the file (site schema, certificates, no keys), moves
  its site to the data partition atomically (0700/0600) and erases FILE;
* ``kiosk provision --check FILE`` only checks (IT can run it on their PC first);
* ``kiosk provision --first-boot`` is the boot unit's: it takes ``kiosk-provision.toml``
  from the boot-selector partition when one is there, and sets the hostname;
* ``kiosk provision --reset`` is the factory reset: everything on the data partition
  (outbox, audit, records, site, token) is deleted after the kiosk's name is typed.

A refused file stays where it was and the reason is one line on the console.
"""

from __future__ import annotations

import contextlib
import socket
from datetime import UTC, datetime
from pathlib import Path

import click

from kiosk.commands.context import CliContext
from kiosk.errors import InvalidInput
from kiosk.locale import msg, text

__all__ = ["DEFAULT_BOOT", "DEFAULT_DATA", "provision"]

DEFAULT_DATA = Path("/var/lib/kiosk")
"""The data partition's mount point on the appliance."""

DEFAULT_BOOT = Path("/boot/selector")
"""The boot-selector partition (FAT, ``KIOSKSEL``), where IT drops the file."""


def _set_hostname(name_file: Path) -> None:
    """Apply the provisioned hostname now (root only; at boot, the unit is root)."""
    with contextlib.suppress(OSError):
        socket.sethostname(name_file.read_text().strip())


@click.command()
@click.argument(
    "file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=False)
)
@click.option("--check", "check_only", is_flag=True, help="Check FILE, write nothing.")
@click.option("--first-boot", is_flag=True, help="Take the boot partition's file if present.")
@click.option("--reset", is_flag=True, help="Factory reset: wipe the data partition.")
@click.option("--confirm", default=None, help="With --reset: the kiosk's name, typed.")
@click.option(
    "--owner", default=None, help="The user who gets the site's files (the unit's: kiosk)."
)
@click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA,
    show_default=True,
    help="The data partition.",
)
@click.option(
    "--boot",
    "boot_root",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_BOOT,
    show_default=True,
    help="The boot-selector partition (--first-boot).",
)
@click.pass_obj
def provision(
    obj: CliContext,
    file: Path | None,
    check_only: bool,
    first_boot: bool,
    reset: bool,
    confirm: str | None,
    owner: str | None,
    data_root: Path,
    boot_root: Path,
) -> None:
    """Provision this kiosk from a site file, or reset it to the factory state."""
    from kiosk.services.provisioning import (
        BOOT_FILE,
        DataLayout,
        factory_reset,
        install,
        read_provision,
    )

    lang = obj.lang
    layout = DataLayout(data_root)
    now = datetime.now(UTC)
    if reset:
        name_file = layout.hostname_file
        word = name_file.read_text().strip() if name_file.is_file() else "reset"
        typed = confirm
        if typed is None:
            typed = click.prompt(text("provision.reset_prompt", lang, word=word), default="")
        if typed.strip() != word:
            raise InvalidInput(msg("provision.reset_refused", word=word))
        removed = factory_reset(layout)
        click.echo(text("provision.reset_done", lang, count=removed, data=data_root))
        return
    if first_boot:
        file = boot_root / BOOT_FILE
        if not file.exists():
            if not layout.provisioned():
                raise InvalidInput(msg("provision.waiting", file=BOOT_FILE, boot=boot_root))
            _set_hostname(layout.hostname_file)
            hostname = layout.hostname_file.read_text().strip()
            click.echo(text("provision.already", lang, hostname=hostname))
            return
    if file is None:
        raise click.UsageError(text("provision.usage", lang))
    if check_only:
        found = read_provision(file, now)
        click.echo(text("provision.valid", lang, file=file, hostname=found.hostname))
        return
    done = install(file, layout, now, owner=_owner(owner))
    _set_hostname(layout.hostname_file)
    if done.enrolment:
        click.echo(text("provision.enrolled", lang, hostname=done.hostname, file=file))
    else:
        click.echo(
            text("provision.done", lang, hostname=done.hostname, site=layout.site_file, file=file)
        )


def _owner(name: str | None) -> tuple[int, int] | None:
    """``(uid, gid)`` of the user ``name``; None leaves the files to whoever runs this."""
    if name is None:
        return None
    import pwd

    try:
        found = pwd.getpwnam(name)
    except KeyError as exc:
        raise InvalidInput(msg("provision.no_owner", user=name)) from exc
    return found.pw_uid, found.pw_gid
