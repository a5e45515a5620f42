"""``kiosk run``: the kiosk itself, on the configured adapters, in this terminal.

The production entry point (the systemd unit's command): the site file's readers,
CPS module, printer, scanner and services (:func:`kiosk.wiring.open_services`),
then the TUI in desk or self-service mode until it is left. A missing device or a
bad setting is the CLI's one line and exit code, before the screen is taken.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext
from kiosk.commands.tui_run import MODE_OPTION, mode_of, run_tui

__all__ = ["run"]


@click.command()
@MODE_OPTION
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Site configuration file (TOML); same as `kiosk --config FILE run`.",
)
@click.pass_obj
def run(obj: CliContext, mode: str | None, config_path: Path | None) -> None:
    """Open the kiosk (desk or self-service) on the configured devices and services."""
    if config_path is not None:
        obj = CliContext(config_path=config_path, lang=obj.lang, tui=obj.tui)
    settings = obj.settings
    run_tui(obj, settings, mode=mode_of(settings, mode))
