"""``kiosk sim scan PERSON``: the running world's scanner reads a fixture person's INS label.

The label is the INS Data Matrix payload of a fictitious person of the simulated
INSi (``kiosk sim scan --list`` names them); every kiosk listening to the world's
scanner (``kiosk demo``, ``kiosk run`` on the simulated world) receives the read.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.locale import text
from kiosk.wiring.world import world_facts

__all__ = ["scan"]


@click.command()
@click.argument("person", required=False)
@click.option("--list", "listing", is_flag=True, help="Name the fixture people and stop.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def scan(
    obj: CliContext, person: str | None, listing: bool, state_dir: Path | None, as_json: bool
) -> None:
    """Make the simulated scanner read PERSON's INS Data Matrix (see --list)."""
    from kiosk.sim.control import scan_person
    from kiosk.sim.scanner import people

    if listing or person is None:
        names = list(people())
        emit(as_json, {"people": names}, "\n".join(names))
        return
    listeners = scan_person(world_facts(obj.settings, state_dir), person)
    shown = text("commands.sim_scan.scanned", obj.lang, person=person, listeners=listeners)
    emit(as_json, {"person": person, "listeners": listeners}, shown)
