"""``kiosk sim …``: drive the simulators of a running demo or test world."""

from __future__ import annotations

import click

__all__ = ["sim"]


@click.group()
def sim() -> None:
    """Drive the simulators (virtual cards, services, printer)."""


def _subcommands() -> list[click.Command]:
    # Each area adds its own subcommand here (one import, one list element).
    from kiosk.commands.sim_cards import card
    from kiosk.commands.sim_dmp import dmp
    from kiosk.commands.sim_network import network
    from kiosk.commands.sim_printer import printer
    from kiosk.commands.sim_scan import scan
    from kiosk.commands.sim_serve import insi_fault, serve

    return [serve, insi_fault, card, printer, dmp, scan, network]


for _command in _subcommands():
    sim.add_command(_command)
