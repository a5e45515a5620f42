"""Driving a running world: what ``kiosk sim …`` does, as functions, and the demo panel's port.

Each function finds its simulator in the world's facts (``world.json``) and sends it
the same request the CLI sends, through the same client (the card desk's control
socket, the printer's control port, the scanner and network sockets). The CLI
commands call these functions; :class:`SimControl` is the demo panel's
``DemoControl`` (``kiosk/tui/ports.py``) over them, so the panel and a second
terminal drive the world in exactly the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kiosk.errors import InvalidInput, KioskError, NotFound, Unavailable
from kiosk.locale import msg

__all__ = [
    "SimControl",
    "card_request",
    "network_request_in",
    "printer_command",
    "scan_person",
]

Facts = Mapping[str, object]
_CARD_ERRORS: dict[str, type[KioskError]] = {"NOT_FOUND": NotFound, "INVALID_INPUT": InvalidInput}


def card_request(facts: Facts, request: dict[str, Any], default: Path) -> dict[str, Any]:
    """One request to the card desk (``insert``, ``pull``, ``list``); its errors raised."""
    from kiosk.sim.cards.desk import control_request

    path = facts.get("cards_control")
    reply = control_request(Path(str(path)) if path else default, request)
    if not reply.get("ok"):
        error = _CARD_ERRORS.get(str(reply.get("code")), Unavailable)
        raise error(str(reply.get("fr")), str(reply.get("en")))
    return reply


def printer_command(facts: Facts, line: str) -> dict[str, Any]:
    """One control line to the world's printer (``paper-out``, ``refill``…), its answer."""
    from kiosk.sim.printer.control import control

    found = facts.get("printer")
    if not isinstance(found, dict):
        raise NotFound(msg("commands.sim_printer.printer"))
    return control(int(found["control_port"]), line)


def scan_person(facts: Facts, person: str) -> int:
    """The world's scanner reads ``person``'s INS Data Matrix; how many kiosks listened."""
    from kiosk.sim.scanner import person_payload, scan_request

    payload = person_payload(person)  # an unknown person fails before the world is asked
    return scan_request(_fact_path(facts, "scanner_socket"), payload.encode())


def network_request_in(facts: Facts, op: str, services: Sequence[str]) -> dict[str, bool]:
    """Cut, restore or read the world's network to INSi/DMP; each service's reachability."""
    from kiosk.sim.network import network_request

    return network_request(_fact_path(facts, "network_control"), op, services)


def _fact_path(facts: Facts, key: str) -> Path:
    found = facts.get(key)
    if not isinstance(found, str) or not found:
        raise NotFound(msg("sim.control.no_world", part=key.split("_")[0]))
    return Path(found)


class SimControl:
    """The demo panel's port onto the world whose facts ``facts()`` reads."""

    def __init__(self, facts: Callable[[], Facts], cards_socket: Path) -> None:
        self._facts = facts
        self._cards_socket = cards_socket

    def cards(self) -> Sequence[tuple[str, str]]:
        """Every fixture card: (name, description)."""
        from kiosk.sim.cards.virtual import card_names, load_card

        return [(name, load_card(name).description) for name in card_names()]

    def people(self) -> Sequence[str]:
        """Every fixture person whose INS Data Matrix can be scanned."""
        from kiosk.sim.scanner import people

        return list(people())

    async def inserted(self) -> Sequence[str]:
        """The cards now in a slot."""
        reply = await asyncio.to_thread(self._cards, {"op": "list"})
        return [str(slot["card"]) for slot in reply["slots"] if slot["card"]]

    async def insert_card(self, name: str) -> None:
        """Insert fixture card ``name`` in its default slot."""
        await asyncio.to_thread(self._cards, {"op": "insert", "card": name, "reader": None})

    async def pull_card(self, name: str) -> None:
        """Pull card ``name``."""
        await asyncio.to_thread(self._cards, {"op": "pull", "card": name})

    async def scan(self, person: str) -> int:
        """Scan ``person``'s label; how many kiosks listened."""
        return await asyncio.to_thread(scan_person, self._facts(), person)

    async def network(self, op: str, services: Sequence[str]) -> Mapping[str, bool]:
        """``cut``, ``restore`` or ``status`` of ``services`` (``insi``, ``dmp``)."""
        return await asyncio.to_thread(network_request_in, self._facts(), op, services)

    async def printer(self, command: str) -> None:
        """``paper-out`` or ``refill`` (any control line of the simulated printer)."""
        await asyncio.to_thread(printer_command, self._facts(), command)

    def _cards(self, request: dict[str, Any]) -> dict[str, Any]:
        return card_request(self._facts(), request, self._cards_socket)
