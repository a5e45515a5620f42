"""``kiosk outbox …``, ``kiosk sync`` and ``kiosk audit …``: see and drive the outbox.

Thin: each command opens the outbox named by the settings, calls one store or
service method, and renders the result (``--json`` for machines). ``kiosk sync``
sends through the sender :mod:`kiosk.wiring` builds: the DMP (the running demo's
simulator when ``dmp.kind = "sim"``), signed in indirect mode with ``ORG_SIGN``.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import click

from kiosk.audit.store import AuditLog
from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext, emit
from kiosk.errors import StorageError, Unavailable
from kiosk.locale import msg
from kiosk.outbox.admin import STATES
from kiosk.outbox.store import OutboxStore
from kiosk.outbox.sync import SyncReport
from kiosk.wiring.outbox import open_outbox

__all__ = ["AuditChainBroken", "audit", "outbox", "sync"]

T = TypeVar("T")


class AuditChainBroken(StorageError):
    """``kiosk audit verify`` found an edited, deleted or reordered row."""

    code = "AUDIT_CHAIN"


def _with_store(obj: CliContext, fn: Callable[[OutboxStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_outbox(obj.settings, SystemClock()) as store:
            return await fn(store)

    return asyncio.run(run())


@click.group()
def outbox() -> None:
    """The offline outbox: what waits, what failed, what to retry."""


@outbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, as_json: bool) -> None:
    """Counts per state, age of the oldest pending item, next attempt."""
    result = _with_store(obj, lambda s: s.status())
    age = result.oldest_pending_age_s
    lines = [f"{state:>9}: {result.counts[state]}" for state in STATES]
    lines.append(f"oldest pending: {'-' if age is None else f'{age:.0f} s'}")
    lines.append(f"next attempt:   {result.next_attempt_at or '-'}")
    emit(as_json, asdict(result), "\n".join(lines))


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only this state.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(obj: CliContext, state: str | None, limit: int, as_json: bool) -> None:
    """The oldest items (never their content)."""
    rows = _with_store(obj, lambda s: s.rows(state=state, limit=limit))
    lines = [
        f"{r.id}  {r.state:<9} {r.kind:<16} attempts={r.attempts} "
        f"error={r.last_error or '-'} created={r.created_at}"
        for r in rows
    ]
    emit(as_json, [asdict(r) for r in rows], "\n".join(lines) or "(empty)")


@outbox.command()
@click.argument("item_id", required=False)
@click.option("--dead", is_flag=True, help="Retry every dead letter.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def retry(obj: CliContext, item_id: str | None, dead: bool, as_json: bool) -> None:
    """Put one item (ID) or every dead letter (--dead) back in the queue."""
    if bool(item_id) == dead:
        raise click.UsageError("give either an ID or --dead")
    if dead:
        count = _with_store(obj, lambda s: s.retry_dead())
    else:
        assert item_id is not None

        async def one(store: OutboxStore) -> int:
            await store.retry(item_id)
            return 1

        count = _with_store(obj, one)
    emit(as_json, {"requeued": count}, f"requeued: {count}")


@outbox.command()
@click.option("--done", is_flag=True, required=True, help="Delete acknowledged items.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def purge(obj: CliContext, done: bool, as_json: bool) -> None:
    """Delete acknowledged items; their audit lines stay."""
    count = _with_store(obj, lambda s: s.purge_done())
    emit(as_json, {"purged": count}, f"purged: {count}")


def _report_text(report: SyncReport) -> str:
    text = f"sent: {report.sent}  retried: {report.retried}  dead: {report.dead}"
    return text + ("  (service unreachable: stopped)" if report.offline else "")


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def sync(obj: CliContext, once: bool, as_json: bool) -> None:
    """Send the outbox to the service, at the configured rate (exit 3 if unreachable)."""
    from kiosk.metrics import OutboxMetrics
    from kiosk.services.sync import SyncService, policy_from_settings
    from kiosk.wiring import outbox_sender, outbox_trust, world_facts

    settings = obj.settings
    clock = SystemClock()

    async def run() -> SyncReport | None:
        async with (
            open_outbox(settings, clock) as store,
            outbox_sender(settings, clock, facts=world_facts(settings)) as sender,
        ):
            metrics = OutboxMetrics()
            service = SyncService(
                store,
                sender,
                clock=clock,
                policy=policy_from_settings(settings),
                metrics=metrics,
                trusted=outbox_trust(settings),
            )
            if once:
                return await service.run_once()
            if settings.outbox.metrics_port:
                from kiosk.metrics import ApplianceCollector
                from kiosk.wiring.update import booted

                metrics.registry.register(
                    ApplianceCollector(
                        settings.paths.data_dir, version=settings.site.lps_version, booted=booted
                    )
                )
                metrics.serve(settings.outbox.metrics_port)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await service.start()
            await stop.wait()
            await service.stop()
            return None

    report = asyncio.run(run())
    if report is not None:
        emit(as_json, asdict(report), _report_text(report))
        if report.offline:
            # Exit 3 (ARCHITECTURE.md §12) so a timer or a script sees the outage; the
            # items stay pending with their keys and the next pass resends them.
            raise Unavailable(
                msg("commands.outbox.sync"),
                detail=report.last_error or "",
            )


@click.group()
def audit() -> None:
    """The hash-chained audit trail."""


def _audit_log(obj: CliContext) -> AuditLog:
    return AuditLog(obj.settings.outbox.database)


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def verify(obj: CliContext, as_json: bool) -> None:
    """Check every link of the chain; say where it breaks."""
    report = asyncio.run(_audit_log(obj).verify())
    text = (
        f"audit chain ok: {report.count} events, head {report.head_hash[:16]}…"
        if report.ok
        else f"audit chain BROKEN at row {report.broken_at}: {report.reason}"
    )
    emit(as_json, asdict(report), text)
    if not report.ok:
        raise AuditChainBroken(
            msg("commands.outbox.verify", broken_at=report.broken_at, reason=report.reason),
        )


@audit.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="JSON lines file (personal data masked).",
)
@click.pass_obj
def export(obj: CliContext, output: Path) -> None:
    """Write every event as one JSON object per line."""
    lines = asyncio.run(_audit_log(obj).export_lines())
    text = "".join(line + "\n" for line in lines)
    if str(output) == "-":
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise StorageError(
                msg("commands.outbox.export", output=output, strerror=exc.strerror),
            ) from exc
        click.echo(json.dumps({"events": len(lines), "file": str(output)}))
