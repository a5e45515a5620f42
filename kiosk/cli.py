"""The ``kiosk`` command line (contract in ARCHITECTURE.md §12).

Each area's commands live in ``kiosk/commands/<area>.py``; this module only builds
the root group, registers them, and turns every :class:`KioskError` into one line
on stderr and the exit code of its family (0 ok, 1 invalid input, 2 not found,
3 device or service unavailable). No traceback reaches the operator.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from kiosk.commands.context import CliContext
from kiosk.errors import KioskError

__all__ = ["main", "root"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="KIOSK_CONFIG",
    default=None,
    help="Site configuration file (TOML). Default: built-in simulation settings.",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    envvar="KIOSK_LANG",
    default="fr",
    show_default=True,
    help="Language of messages.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log to stderr at debug level.")
@click.pass_context
def root(ctx: click.Context, config_path: Path | None, lang: str, verbose: bool) -> None:
    """Admission-desk kiosk: cards, INS identity, DMP, receipts, outbox."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ["KIOSK_LANG"] = lang  # main() renders errors after the context is gone
    ctx.obj = CliContext(config_path=config_path, lang=lang)


def _register() -> None:
    from kiosk.commands import cards, demo, insi, outbox, printing, scan, sim

    for command in (demo.demo, sim.sim, cards.cards, printing.print_, insi.insi, scan.scan):
        root.add_command(command)
    for command in (outbox.outbox, outbox.sync, outbox.audit):
        root.add_command(command)
    from kiosk.commands.cps import login as cards_login

    cards.cards.add_command(cards_login)  # `kiosk cards login`, owned by kiosk/commands/cps.py


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the §12 code."""
    try:
        rc = root.main(args=argv, prog_name="kiosk", standalone_mode=False)
    except KioskError as exc:
        lang = os.environ.get("KIOSK_LANG", "fr")
        click.echo(f"kiosk: {exc.message(lang)} [{exc.code}]", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("kiosk: interrompu / aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
