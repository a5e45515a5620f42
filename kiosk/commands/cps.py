"""``kiosk cards login``: log in to a CPS/CPE card with its PIN and show whose card it is.

The PIN is read with hidden input, used for one C_Login and dropped; the command
logs out before it returns. The card is found as the PKCS#11 adapter finds it
(``kiosk/cards/pkcs11/``): by the slot named after the reader (Cryptolib CPS) or by
the card serial, which is read from the card in the reader (GET DATA ``00 CA 00 5A``,
as the virtual CPE answers it — verify on a real CPS3) when ``--serial`` is not given.

Readers and module come from :mod:`kiosk.wiring`: with ``cards.kind = "sim"`` the
running demo world's pcscd and SoftHSM2 tokens (``world.json`` under
``<data_dir>/sim`` or ``--state-dir``) and the simulated 3-try PIN lock kept beside
the tokens; with ``"pcsc"`` the system's readers and ``cards.pkcs11_module``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kiosk.commands.context import CliContext, emit
from kiosk.errors import NotFound
from kiosk.locale import msg, text
from kiosk.wiring.devices import build_card_reader, build_cps

if TYPE_CHECKING:
    from collections.abc import Callable

    from kiosk.cards.pkcs11 import CpsModule
    from kiosk.wiring.devices import CardReaders

__all__ = ["login"]


@click.command("login")
@click.option("--reader", default=None, help="Reader holding the card (default: the only one).")
@click.option("--serial", "card_serial", default=None, help="Card serial, if known already.")
@click.option(
    "--establishment",
    is_flag=True,
    help="Log in to the establishment token (indirect mode) instead of a card.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="State directory of a running demo (default: <data_dir>/sim).",
)
@click.pass_obj
def login(
    obj: CliContext,
    reader: str | None,
    card_serial: str | None,
    establishment: bool,
    as_json: bool,
    state_dir: Path | None,
) -> None:
    """Log in to a CPS/CPE card (PIN asked, hidden) and show the professional."""
    readers = build_card_reader(obj.settings, state_dir)

    def module() -> CpsModule:
        return build_cps(obj.settings, state_dir)

    label: str | None = None
    if establishment:
        # Simulation convention of kiosk/sim/hsm.py; a site names its own token.
        label = f"ORG {obj.settings.site.establishment_id}"
    elif card_serial is None:
        reader, card_serial = asyncio.run(_find_card(obj, readers, module, reader))
    pin = click.prompt(text("commands.cps.pin_prompt", obj.lang), hide_input=True, err=True)
    result = asyncio.run(_login(module(), pin, reader, card_serial, label))
    del pin
    who = result["professional"]
    lines = [
        f"{who['display_name']} — {who['national_id']}",
        text(
            "commands.cps.role",
            obj.lang,
            role=who["role"] or "-",
            profession=who["profession_code"] or "-",
            specialty=who["specialty"] or "-",
        ),
        text(
            "commands.cps.structure",
            obj.lang,
            structure=who["structure_id"] or "-",
            sector=who["sector"] or "-",
        ),
        text("commands.cps.token", obj.lang, token=result["token"]),
    ]
    emit(as_json, result, "\n".join(lines))


async def _find_card(
    obj: CliContext, readers: CardReaders, module: Callable[[], CpsModule], reader: str | None
) -> tuple[str, str | None]:
    """The reader holding the professional card, and the card serial when it tells it."""
    if reader is not None:
        return reader, await _read_serial(readers, reader)
    from kiosk.cards.atr import CardProfiles

    profiles = CardProfiles.load(obj.settings.cards.profiles_dir)
    present = [(name, profiles.identify(atr)) for name, atr in readers.slots() if atr is not None]
    known = [name for name, profile in present if profile and profile.kind.value == "cps"]
    if len(known) == 1:
        return known[0], await _read_serial(readers, known[0])
    if not known:
        # DOMAIN.md §5: a CPS3/CPE is also recognised by the token that appears for it.
        serials = {t.label.split()[-1] for t in await module().tokens() if t.label}
        matches = []
        for name, profile in present:
            serial = await _read_serial(readers, name) if profile is None else None
            if serial is not None and serial in serials:
                matches.append((name, serial))
        if len(matches) == 1:
            return matches[0]
    found = ", ".join(known) or "aucune / none"
    raise NotFound(
        msg("commands.cps.find_card", found=found),
    )


async def _read_serial(readers: CardReaders, reader: str) -> str | None:
    from kiosk.cards.serial import read_card_serial

    return await read_card_serial(readers.open_channel, reader)


async def _login(
    module: CpsModule, pin: str, reader: str | None, serial: str | None, label: str | None
) -> dict[str, Any]:
    session = await module.login(pin, reader=reader, card_serial=serial, label=label)
    try:
        who = session.professional
        return {
            "token": session.token_label,
            "professional": {
                "national_id": who.national_id,
                "display_name": who.display_name,
                "given_name": who.given_name,
                "family_name": who.family_name,
                "profession_code": who.profession_code,
                "role": who.role,
                "specialty": who.specialty,
                "structure_id": who.structure_id,
                "sector": who.sector,
            },
            "signature_certificate": session.signer.certificate.subject.rfc4514_string(),
        }
    finally:
        await session.aclose()
