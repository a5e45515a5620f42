"""``kiosk selftest [--json]``: every configured device and service, ok / warn / fail.

One line per check with what to do when it is not ok, then a summary; ``--json`` is
the report as one document (the fleet and the update's mark-good read it). The exit
code is 0 when nothing fails (warnings included) and 3 (device or service
unavailable, the CLI contract's) when a check fails.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from kiosk.commands.context import CliContext, emit
from kiosk.locale import text

__all__ = ["EXIT_FAILED", "selftest"]

EXIT_FAILED = 3
"""A check failed: the CLI contract's code for a device or service unavailable."""


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The simulated world's directory, for simulated devices.",
)
@click.pass_obj
def selftest(obj: CliContext, as_json: bool, state_dir: Path | None) -> None:
    """Check readers, tokens, printer, scanner, databases, disk, certificates, services, clock."""
    import contextlib

    from kiosk.domain.health import Level
    from kiosk.wiring.selftest import run_selftest, save_report

    report = asyncio.run(run_selftest(obj.settings, lang=obj.lang, state_dir=state_dir))
    with contextlib.suppress(OSError):  # a read-only or full data partition: still report
        save_report(obj.settings, report)
    lines: list[str] = []
    for check in report.checks:
        label = text(f"selftest.level.{check.level.value}", obj.lang)
        lines.append(f"{label:<9} {check.name:<12} {check.detail}")
        if check.action:
            lines.append(f"{'':<9} {'':<12} → {check.action}")
    counts = {lv: sum(1 for c in report.checks if c.level is lv) for lv in Level}
    lines.append(
        text(
            "selftest.summary",
            obj.lang,
            level=text(f"selftest.level.{report.level.value}", obj.lang),
            fails=counts[Level.FAIL],
            warns=counts[Level.WARN],
        )
    )
    emit(as_json, report.as_dict(), "\n".join(lines))
    if report.level is Level.FAIL:
        raise SystemExit(EXIT_FAILED)
