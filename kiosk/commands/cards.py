"""``kiosk cards list|watch|read``: readers, live card events, Vitale beneficiaries.

The readers are those :func:`kiosk.wiring.build_card_reader` picks: with
``cards.kind = "sim"`` the running demo world's private pcscd (``world.json`` under
``<data_dir>/sim`` or ``--state-dir``), with ``"pcsc"`` the system's, even when a
world runs.
No personal data is printed unless ``--show``; the NIR stays masked without it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.commands.cps import login as cps_login
from kiosk.errors import NotFound
from kiosk.locale import msg, text
from kiosk.wiring.devices import build_card_monitor, build_card_reader

if TYPE_CHECKING:
    from kiosk.cards.pcsc import PcscMonitor

__all__ = ["cards"]

_STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="State directory of a running demo (default: <data_dir>/sim).",
)


@click.group()
def cards() -> None:
    """Smart-card readers and cards (Vitale, CPS/CPE)."""


@cards.command("list")
@click.option("--show", is_flag=True, help="Also read and show the Vitale beneficiaries.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_STATE_DIR
@click.pass_obj
def list_(obj: CliContext, show: bool, as_json: bool, state_dir: Path | None) -> None:
    """Reader slots, and the kind of card in each."""
    readers = build_card_reader(obj.settings, state_dir)
    from kiosk.cards.atr import CardProfiles, format_atr

    profiles = CardProfiles.load(obj.settings.cards.profiles_dir)
    rows: list[dict[str, Any]] = []
    for reader, atr in readers.slots():
        row: dict[str, Any] = {"reader": reader, "card": atr is not None}
        if atr is not None:
            profile = profiles.identify(atr)
            row |= {
                "atr": format_atr(atr),
                "kind": profile.kind.value if profile else "unknown",
                "profile": profile.label if profile else "",
            }
            if show and profile is not None and profile.kind.value == "vitale":
                data = asyncio.run(readers.vitale.read(reader))
                row["beneficiaries"] = [_person(p, show=True) for p in data.beneficiaries]
        rows.append(row)
    lines = [
        f"{r['reader']}: "
        + (
            f"{r['kind']} {r['profile']} (ATR {r['atr']})"
            if r["card"]
            else text("commands.cards.empty", obj.lang)
        )
        for r in rows
    ] or ["Aucun lecteur / no reader"]
    for r in rows:
        for p in r.get("beneficiaries", []):
            lines.append(f"    {p['family_name']} {p['given_name']} {p['birth_date']}")
    emit(as_json, {"readers": rows}, "\n".join(lines))


@cards.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@_STATE_DIR
@click.pass_obj
def watch(
    obj: CliContext,
    as_json: bool,
    count: int | None,
    duration: float | None,
    state_dir: Path | None,
) -> None:
    """Live reader and card events (present state first), until Ctrl-C."""
    monitor = build_card_monitor(obj.settings, state_dir)
    asyncio.run(_watch(monitor, as_json, count, duration))


async def _watch(
    monitor: PcscMonitor, as_json: bool, count: int | None, duration: float | None
) -> None:
    import json
    import time

    from kiosk.cards.atr import format_atr
    from kiosk.cards.ports import CardInserted

    deadline = None if duration is None else time.monotonic() + duration
    seen = 0
    try:
        while count is None or seen < count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                event = await monitor.next_event(left)
            except TimeoutError:
                break
            seen += 1
            data: dict[str, Any] = {"event": type(event).__name__, "reader": event.reader}
            if isinstance(event, CardInserted):
                data |= {"atr": format_atr(event.atr), "kind": event.kind.value}
            if as_json:
                click.echo(json.dumps(data, sort_keys=True))
            else:
                extra = f" {data['kind']} (ATR {data['atr']})" if "atr" in data else ""
                click.echo(f"{data['event']}: {event.reader}{extra}")
    finally:
        await monitor.aclose()


def _person(p: Any, *, show: bool) -> dict[str, Any]:
    return {
        "family_name": p.family_name,
        "given_name": p.given_name,
        "birth_date": p.birth_date,
        "birth_rank": p.birth_rank,
        "quality": p.quality_label,
        "insured_nir": p.insured_nir if show else p.masked_nir(),
    }


@cards.command()
@click.option("--reader", default=None, help="Slot to read (default: the first Vitale card).")
@click.option("--show", is_flag=True, help="Show the full insured NIR.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_STATE_DIR
@click.pass_obj
def read(
    obj: CliContext, reader: str | None, show: bool, as_json: bool, state_dir: Path | None
) -> None:
    """Beneficiaries of the Vitale card present (NIR masked unless --show)."""
    readers = build_card_reader(obj.settings, state_dir)
    from kiosk.cards.atr import CardProfiles, UnknownCard

    profiles = CardProfiles.load(obj.settings.cards.profiles_dir)
    present = [(r, atr) for r, atr in readers.slots() if atr is not None]
    if reader is not None:
        present = [(r, atr) for r, atr in present if r == reader]
    else:
        present = [
            (r, a) for r, a in present if (p := profiles.identify(a)) and p.kind.value == "vitale"
        ] or present
    if not present:
        raise NotFound(msg("commands.cards.read"))
    slot, atr = present[0]
    if profiles.identify(atr) is None:
        raise UnknownCard(atr)
    data = asyncio.run(readers.vitale.read(slot))
    people = [_person(p, show=show) for p in data.beneficiaries]
    lines = [text("commands.cards.beneficiaries", obj.lang, slot=slot, count=len(people))]
    lines += [
        text(
            "commands.cards.person",
            obj.lang,
            rank_in_list=i,
            family=p["family_name"],
            given=p["given_name"],
            birth=p["birth_date"],
            rank=p["birth_rank"],
            quality=p["quality"],
            nir=p["insured_nir"],
        )
        for i, p in enumerate(people, 1)
    ]
    emit(
        as_json, {"reader": slot, "serial": data.serial, "beneficiaries": people}, "\n".join(lines)
    )


# `kiosk cards login` lives with the PKCS#11 side.
cards.add_command(cps_login)
