"""``kiosk insi search|verify``: ask the configured INSi service (the simulator by default).

Exit codes (ARCHITECTURE.md §12): 0 one identity, 2 none or several (the agent
refines: several identities are never narrowed down here), 1 invalid input, 3 service
unavailable. Text output masks the matricule; ``--json`` gives it whole, for scripts
that chain ``search`` and ``verify``.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import click

from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext, emit
from kiosk.config import Settings
from kiosk.errors import InvalidInput
from kiosk.insi.protocol import ResultCode
from kiosk.insi.results import InsiIns, InsiResult, InsiTraits
from kiosk.locale import msg, text
from kiosk.wiring import insi_client, world_facts

__all__ = ["insi"]


async def _run(settings: Settings, call: str, args: dict[str, Any]) -> InsiResult:
    async with insi_client(settings, SystemClock(), world_facts(settings)) as client:
        if call == "search":
            return await client.search_with_traits(args["traits"])
        return await client.verify(args["ins"], args["traits"])


def _describe(result: InsiResult, lang: str) -> tuple[dict[str, Any], str]:
    data: dict[str, Any] = {
        "code": result.code.value,
        "label": result.label,
        "given_names_tried": list(result.given_names_tried),
    }
    found = result.identity
    if found is None:
        said = {
            ResultCode.NONE: msg("commands.insi.none"),
            ResultCode.SEVERAL: msg("commands.insi.several"),
            ResultCode.ONE: msg("commands.insi.one"),
        }[result.code]
        return data, f"{result.code.value} {said.text(lang)}"
    t = found.traits
    data["identity"] = {
        "ins": found.ins.matricule,
        "oid": found.ins.oid,
        "kind": found.ins.kind,
        "family_name": t.family_name,
        "given_names": " ".join(t.given_names),
        "sex": t.sex,
        "birth_date": t.birth_date,
        "birth_place": t.birth_place,
        "history": [{"ins": h.matricule, "oid": h.oid} for h in found.history],
    }
    lines = [
        f"{result.code.value} {text('commands.insi.found', lang)}",
        f"  INS        {found.ins.masked} ({found.ins.kind}, {found.ins.oid})",
        f"  {t.family_name} {' '.join(t.given_names)}, {t.sex}, {t.birth_date}, {t.birth_place}",
    ]
    lines += [f"  history    {h.masked} ({h.oid})" for h in found.history]
    return data, "\n".join(lines)


def _traits_options(fn: Any) -> Any:
    """The strict-traits options, handed to the command as one ``traits`` argument."""

    @functools.wraps(fn)
    def command(
        *args: Any,
        family: str,
        given: str,
        sex: str,
        birth_date: str,
        birth_place: str | None,
        **kwargs: Any,
    ) -> Any:
        traits = InsiTraits.create(
            family_name=family, given_names=given, sex=sex, birth_date=birth_date,
            birth_place=birth_place,
        )  # fmt: skip
        return fn(*args, traits=traits, **kwargs)

    for option in reversed(
        [
            click.option("--family", required=True, help="Birth family name."),
            click.option(
                "--given", required=True, help="Birth given names, space-separated, in order."
            ),
            click.option("--sex", required=True, type=click.Choice(["F", "M"], False)),
            click.option("--birth-date", required=True, help="YYYY-MM-DD."),
            click.option("--birth-place", default=None, help="INSEE code (99xxx abroad)."),
            click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        ]
    ):
        command = option(command)
    return command


def _finish(obj: CliContext, result: InsiResult, as_json: bool) -> None:
    data, text = _describe(result, obj.lang)
    emit(as_json, data, text)
    if not result.found:
        raise click.exceptions.Exit(2)


@click.group()
def insi() -> None:
    """The INS teleservice: search an INS by traits, verify a known INS."""


@insi.command()
@_traits_options
@click.pass_obj
def search(obj: CliContext, traits: InsiTraits, as_json: bool) -> None:
    """Search by strict traits, one given name per call, each given name in turn."""
    result = asyncio.run(_run(obj.settings, "search", {"traits": traits}))
    _finish(obj, result, as_json)


@insi.command()
@click.option("--ins", "matricule", required=True, help="Matricule: 13 characters + key.")
@click.option("--oid", default="1.2.250.1.213.1.4.10", show_default=True)
@_traits_options
@click.pass_obj
def verify(obj: CliContext, matricule: str, oid: str, traits: InsiTraits, as_json: bool) -> None:
    """Verify that an INS is still the active INS of the person with these traits."""
    compact = matricule.replace(" ", "").upper()
    if len(compact) != 15:
        raise InvalidInput(
            msg("commands.insi.verify"),
            detail="ins length",
        )
    ins = InsiIns(compact, oid)
    result = asyncio.run(_run(obj.settings, "verify", {"ins": ins, "traits": traits}))
    _finish(obj, result, as_json)
