"""``kiosk sim card insert|pull|list``: drive the virtual cards of a running demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.locale import text
from kiosk.wiring.world import sim_state_dir, world_facts

__all__ = ["card"]


def _request(obj: CliContext, state_dir: Path | None, request: dict[str, Any]) -> dict[str, Any]:
    from kiosk.sim.control import card_request

    default = sim_state_dir(obj.settings, state_dir) / "cards" / "cards.sock"
    return card_request(world_facts(obj.settings, state_dir), request, default)


def _render(reply: dict[str, Any], lang: str) -> str:
    empty = text("commands.cards.empty", lang)
    return "\n".join(f"{s['reader']}: {s['card'] or empty}" for s in reply["slots"])


_STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="State directory of the running demo (default: <data_dir>/sim).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def card() -> None:
    """Insert and pull the demo's virtual cards."""


@card.command()
@click.argument("name")
@click.option("--reader", default=None, help="Slot (default: Vitale slot, or CPS slot for a CPE).")
@_STATE_DIR
@_JSON
@click.pass_obj
def insert(
    obj: CliContext, name: str, reader: str | None, state_dir: Path | None, as_json: bool
) -> None:
    """Insert fixture card NAME (see `kiosk sim card list`)."""
    reply = _request(obj, state_dir, {"op": "insert", "card": name, "reader": reader})
    emit(as_json, reply, _render(reply, obj.lang))


@card.command()
@click.argument("name")
@_STATE_DIR
@_JSON
@click.pass_obj
def pull(obj: CliContext, name: str, state_dir: Path | None, as_json: bool) -> None:
    """Pull card NAME out of its slot."""
    reply = _request(obj, state_dir, {"op": "pull", "card": name})
    emit(as_json, reply, _render(reply, obj.lang))


@card.command("list")
@_STATE_DIR
@_JSON
@click.pass_obj
def list_(obj: CliContext, state_dir: Path | None, as_json: bool) -> None:
    """Slots, the card in each, and the cards available."""
    reply = _request(obj, state_dir, {"op": "list"})
    cards = ", ".join(reply["available"])
    available = text("commands.sim_cards.available", obj.lang, cards=cards)
    emit(as_json, reply, _render(reply, obj.lang) + "\n" + available)
