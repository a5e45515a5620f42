"""``kiosk print …``: test page, sample receipt and label, printer status.

The printer comes from the configuration (``[printer]``: usb, network, file, sim).
With ``kind = "sim"`` the command uses the simulated printer of a running demo
(``world.json`` under ``<data_dir>/sim``) or, when none runs, starts one for the
duration of the command; ``--output`` keeps the PNG of what would come out.
Only fictitious samples print from here: real receipts belong to an agent's session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import click

from kiosk.commands.context import CliContext, emit
from kiosk.domain.ins import OID_INS_NIR_TEST, Identity, IdentityStatus, Ins, StrictTraits
from kiosk.errors import AccessDenied, InvalidInput, PrinterError
from kiosk.locale import msg
from kiosk.printing.ports import JobKind, PrinterStatus, PrintJob
from kiosk.printing.profiles import PrinterProfile, load_profile
from kiosk.printing.receipt import (
    Layout,
    ReceiptContent,
    diagnostic_layout,
    label_layout,
    print_job,
    receipt_layout,
)
from kiosk.wiring.devices import PrinterTarget as _Target
from kiosk.wiring.devices import build_printer, private_sim_printer

__all__ = ["print_"]

T = TypeVar("T")


def _profile(obj: CliContext, name: str | None) -> PrinterProfile:
    return load_profile(name or obj.settings.printer.profile)


def _run(
    obj: CliContext,
    profile: PrinterProfile,
    state: Path | None,
    action: Callable[[_Target], Coroutine[object, object, T]],
) -> tuple[T, bytes | None, str]:
    """Run ``action`` on the configured printer; with a private simulator, also its PNG."""
    target = build_printer(obj.settings, profile, state)
    if target is None:
        return asyncio.run(_with_private_sim(profile, action))
    return asyncio.run(action(target)), None, target.name


async def _with_private_sim(
    profile: PrinterProfile, action: Callable[[_Target], Coroutine[object, object, T]]
) -> tuple[T, bytes | None, str]:
    async with private_sim_printer(profile) as (target, last_png):
        result = await action(target)
        return result, last_png(), target.name


def _job(kind: JobKind, layout: Layout, profile: PrinterProfile) -> PrintJob:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return print_job(f"{kind.value}-{stamp}", kind, layout, profile)


def _print_job(
    obj: CliContext, job: PrintJob, profile: PrinterProfile, state: Path | None,
    output: Path | None, as_json: bool,
) -> None:  # fmt: skip
    async def send(target: _Target) -> None:
        await target.printer.print(job)

    _, sim_png, name = _run(obj, profile, state, send)
    if output is not None:
        output.write_bytes(sim_png if sim_png is not None else job.png)
    text = msg(
        "commands.printing.printed", name=name, kind=job.kind.value, size=len(job.escpos)
    ).text(obj.lang)
    if output:
        text += msg("commands.printing.preview", output=output).text(obj.lang)
    emit(
        as_json,
        {
            "printed": True,
            "printer": name,
            "kind": job.kind.value,
            "job_id": job.job_id,
            "profile": profile.key,
            "width_dots": profile.width_dots,
            "bytes": len(job.escpos),
            "preview": str(output) if output else None,
        },
        text,
    )


_common = [
    click.option("--profile", "profile_name", default=None, help="Printer profile (hw/printers)."),
    click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="Write the PNG of the page (as printed by the simulator when it is one)."),
    click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="State directory of a running demo (default: <data_dir>/sim)."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
]  # fmt: skip


def _options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_common):
        func = option(func)
    return func


@click.group(name="print")
def print_() -> None:
    """Print a test page, a sample receipt or label; show the printer's state."""


@print_.command(name="test")
@_options
@click.pass_obj
def test_page(
    obj: CliContext, profile_name: str | None, output: Path | None, state_dir: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """A test page: the printer profile, accents, the password font and a QR."""
    profile = _profile(obj, profile_name)
    job = _job(JobKind.TEST, diagnostic_layout(profile, lang=obj.lang), profile)
    _print_job(obj, job, profile, state_dir, output, as_json)


@print_.command()
@click.option("--sample", is_flag=True, help="Print the fictitious sample receipt.")
@_options
@click.pass_obj
def receipt(
    obj: CliContext, sample: bool, profile_name: str | None, output: Path | None,
    state_dir: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """A credentials receipt; from the command line, only the fictitious sample."""
    _require_sample(sample)
    profile = _profile(obj, profile_name)
    content = ReceiptContent(
        establishment=obj.settings.site.establishment_name,
        printed_at=datetime.now(UTC),
        first_name="Marie",
        family_name="Essai",
        account_id="marie.essai.0142",
        temporary_password="K7P0QZ1L9XW3",  # noqa: S106 - fictitious, shows 0/O and 1/l/I
        portal_url="https://www.monespacesante.fr",
        lang=obj.lang,
    )
    _print_job(obj, _job(JobKind.RECEIPT, receipt_layout(content), profile), profile,
               state_dir, output, as_json)  # fmt: skip


@print_.command()
@click.option("--sample", is_flag=True, help="Print the fictitious sample INS label.")
@_options
@click.pass_obj
def label(
    obj: CliContext, sample: bool, profile_name: str | None, output: Path | None,
    state_dir: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """An INS Data Matrix label; from the command line, only the fictitious sample."""
    _require_sample(sample)
    profile = _profile(obj, profile_name)
    # Fictitious patient under the INS test OID, NIR vector 277076322082910 (DOMAIN.md §7).
    identity = Identity(
        ins=Ins.of("277076322082910", OID_INS_NIR_TEST),
        traits=StrictTraits.create("ESSAI", "MARIE ANNE", date(1977, 7, 7), "F", "63220"),
        status=IdentityStatus.QUAL,
    )
    layout = label_layout(identity, profile, lang=obj.lang)
    _print_job(obj, _job(JobKind.LABEL, layout, profile), profile,
               state_dir, output, as_json)  # fmt: skip


@print_.command()
@click.option("--profile", "profile_name", default=None, help="Printer profile (hw/printers).")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(
    obj: CliContext, profile_name: str | None, state_dir: Path | None, as_json: bool
) -> None:
    """The printer's own report: online, paper, cover."""
    profile = _profile(obj, profile_name)

    async def ask(target: _Target) -> PrinterStatus:
        return await target.printer.status()

    state, _, name = _run(obj, profile, state_dir, ask)
    words = _status_words(state, obj.lang)
    emit(as_json, {"printer": name, **state.as_dict()}, f"{name}: {words}")
    if not state.ready:
        raise PrinterError(
            msg("commands.printing.status"),
            detail=words,
        )


@print_.command()
@click.option("--reprint", is_flag=True, help="Print the session's last receipt again.")
def last(reprint: bool) -> None:
    """Reprint the last receipt of the current agent session."""
    # The receipt lives only in the session's PrintQueue (kiosk.printing.queue), in the
    # kiosk process; a separate CLI process has no session to take it from.
    raise AccessDenied(
        msg("commands.printing.last"),
        detail=f"reprint={reprint}: no agent session in this process",
    )


def _status_words(state: PrinterStatus, lang: str) -> str:
    if not state.known:
        return msg("commands.printing.state.unknown").text(lang)
    parts = [
        msg("commands.printing.state.online")
        if state.online
        else msg("commands.printing.state.offline"),
        msg("commands.printing.state.paper_out")
        if state.paper_out
        else msg("commands.printing.state.paper_low")
        if state.paper_low
        else msg("commands.printing.state.paper_ok"),
        msg("commands.printing.state.cover_open")
        if state.cover_open
        else msg("commands.printing.state.cover_closed"),
    ]
    return ", ".join(part.text(lang) for part in parts)


def _require_sample(sample: bool) -> None:
    if not sample:
        raise InvalidInput(
            msg("commands.printing.require_sample"),
        )
