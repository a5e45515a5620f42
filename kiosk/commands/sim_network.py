"""``kiosk sim network cut|restore|status [insi|dmp|all]``: the running world's network.

Cutting a service makes it unreachable as an outage does (connection refused, the
open connections reset): the footer's light goes down and the flows get
``Unavailable``; restoring makes it answer again on the same address.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.locale import text
from kiosk.wiring.world import world_facts

__all__ = ["network"]

_SERVICES = ("insi", "dmp", "all")


@click.command()
@click.argument("op", type=click.Choice(["cut", "restore", "status"]))
@click.argument("service", type=click.Choice(_SERVICES), default="all")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def network(obj: CliContext, op: str, service: str, state_dir: Path | None, as_json: bool) -> None:
    """Cut or restore the simulated network to INSi and/or the DMP (default: both)."""
    from kiosk.sim.control import network_request_in
    from kiosk.sim.network import NETWORK_SERVICES

    services = NETWORK_SERVICES if service == "all" else (service,)
    reachable = network_request_in(world_facts(obj.settings, state_dir), op, services)
    words = {
        name: text(f"commands.sim_network.{'up' if up else 'down'}", obj.lang)
        for name, up in reachable.items()
    }
    emit(as_json, reachable, "\n".join(f"{name}: {word}" for name, word in words.items()))
