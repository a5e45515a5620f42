"""``kiosk report`` and ``kiosk metrics``: the establishment's indicators (seed 002).

Thin: both read the audit chain named by the settings (the outbox file) through
:func:`kiosk.audit.report.compute`, which refuses a chain that does not verify, and
render. ``kiosk report`` cuts a period of the site's local days (``[outbox]
timezone``) and warns, on stderr, of a day whose documents exceed
``site.daily_document_volume``; ``kiosk metrics`` prints the same counters over the
whole chain in the Prometheus text format, or writes them atomically to a file for
node_exporter's textfile collector.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile

from kiosk.audit.report import Cell, ChainNotVerified, Indicators, Report, compute
from kiosk.audit.store import AuditLog
from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext
from kiosk.errors import InvalidInput, StorageError
from kiosk.locale import msg, text
from kiosk.metrics import IndicatorCollector

__all__ = ["metrics", "report"]

_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _indicators(obj: CliContext) -> Indicators:
    return asyncio.run(compute(AuditLog(obj.settings.outbox.database)))


@click.command()
@click.option("--from", "start", type=_DAY, required=True, help="First local day, YYYY-MM-DD.")
@click.option("--to", "end", type=_DAY, required=True, help="Last local day (included).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON).")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per day × agent, then sums.")
@click.pass_obj
def report(obj: CliContext, start: datetime, end: datetime, as_json: bool, as_csv: bool) -> None:
    """DMPs created, authorizations, refusals, deferrals, documents, dead letters, per day."""
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    first, last = start.date(), end.date()
    if last < first:
        raise InvalidInput(
            msg("commands.report.period", start=first.isoformat(), end=last.isoformat())
        )
    settings = obj.settings
    result = _indicators(obj).report(
        first,
        last,
        ZoneInfo(settings.outbox.timezone),
        daily_document_volume=settings.site.daily_document_volume,
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, sort_keys=True))
    elif as_csv:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(result.csv_rows())
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(_table(result, obj.lang))
    for warning in result.warnings():
        line = text(
            "commands.report.volume",
            obj.lang,
            day=warning.day.isoformat(),
            sent=warning.documents_sent,
            limit=warning.daily_document_volume,
        )
        click.echo(f"kiosk: {line}", err=True)


_SHORT = (
    "dmp_created",
    "authorizations_given",
    "consents_refused",
    "creations_deferred",
    "documents_sent",
    "dead_letters",
)


def _table(result: Report, lang: str) -> str:
    heads = [text(f"commands.report.column.{name}", lang) for name in _SHORT]
    delay = text("commands.report.column.delay", lang)
    widths = [max(len(h), 5) for h in heads]

    def line(label: str, cell: Cell) -> str:
        values = [str(cell.counts[n]).rjust(w) for n, w in zip(_SHORT, widths, strict=True)]
        median = cell.delay("median")
        return f"{label:<14} " + " ".join(values) + f"  {'-' if median is None else f'{median:g}'}"

    header = f"{'':<14} " + " ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    total = result.total()
    lines = [
        text(
            "commands.report.title",
            lang,
            start=result.start.isoformat(),
            end=result.end.isoformat(),
            zone=result.timezone,
            events=result.events,
        ),
        "",
        header + f"  {delay}",
        *(line(day.isoformat(), result.day(day)) for day in result.days()),
        line(text("commands.report.total", lang), total),
    ]
    if result.agents():
        lines += ["", text("commands.report.per_agent", lang)]
        lines += [line(agent, result.agent(agent)) for agent in result.agents()]
    if total.documents:
        kinds = ", ".join(f"{t} {n}" for t, n in sorted(total.documents.items()))
        lines += ["", text("commands.report.by_type", lang, types=kinds)]
    if total.dead_letters:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(total.dead_letters.items()))
        lines += [text("commands.report.dead_by_kind", lang, kinds=kinds)]
    return "\n".join(lines)


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the exposition to this file (atomically, for node_exporter's textfile collector).",
)
@click.pass_obj
def metrics(obj: CliContext, output: Path | None) -> None:
    """The indicators as Prometheus metrics (text exposition format), over the whole chain."""
    settings = obj.settings
    zone = ZoneInfo(settings.outbox.timezone)
    refused: ChainNotVerified | None = None
    try:
        indicators: Indicators | None = _indicators(obj)
    except ChainNotVerified as exc:
        indicators, refused = None, exc  # the file then says so: kiosk_audit_chain_ok 0
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        IndicatorCollector(
            indicators,
            today=SystemClock().now().astimezone(zone).date(),
            zone=zone,
            daily_document_volume=settings.site.daily_document_volume,
        )
    )
    if output is None:
        click.echo(generate_latest(registry).decode("utf-8"), nl=False)
    else:
        try:
            write_to_textfile(str(output), registry)
        except OSError as exc:
            raise StorageError(
                msg("commands.report.write", output=output, strerror=exc.strerror)
            ) from exc
    if refused is not None:
        raise refused
