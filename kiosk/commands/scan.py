"""``kiosk scan``: print what the configured 2D scanner reads, as it arrives.

One line per event (``--json``: one JSON document per line): a read, a rejected read
(cut short, wrong keyboard layout) or the scanner coming and going. GS is shown as
``<GS>`` in text output and kept as ``\\u001d`` in JSON. With the simulated scanner
(``kind = "sim"``) it watches the running world's scanner, so ``kiosk sim scan`` in a
second terminal shows here as it shows on the desk; ``--sample`` uses one in memory
instead and makes it read a fictitious INS label (test OID), once cut and once whole.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from kiosk.commands.context import CliContext
from kiosk.domain.datamatrix import payload_for
from kiosk.domain.ins import OID_INS_NIR_TEST, Identity, IdentityStatus, Ins, StrictTraits
from kiosk.errors import ConfigError, NotFound
from kiosk.locale import msg
from kiosk.scanning.devices import SimulatedScanner
from kiosk.scanning.ports import ScanEvent, ScanPayload, ScanRejected, ScanStatus
from kiosk.wiring.devices import build_scanner
from kiosk.wiring.world import world_facts

__all__ = ["scan"]

_GS = "\x1d"
# Fictitious patient under the INS test OID, NIR vector 277076322082910 (DOMAIN.md §7).
_SAMPLE = payload_for(
    Identity(
        ins=Ins.of("277076322082910", OID_INS_NIR_TEST),
        traits=StrictTraits.create("ESSAI", "MARIE ANNE", date(1977, 7, 7), "F", "63220"),
        status=IdentityStatus.QUAL,
    )
)
_INS_HEADER = b"IS01"  # DOMAIN.md §3: every INS Data Matrix starts with it


def _describe(event: ScanEvent, lang: str) -> tuple[dict[str, Any], str]:
    if isinstance(event, ScanPayload):
        kind = "ins" if event.data.startswith(_INS_HEADER) else "other"
        text = event.text
        return (
            {"event": "read", "kind": kind, "source": event.source, "payload": text},
            f"{kind.upper():5} {text.replace(_GS, '<GS>')}",
        )
    if isinstance(event, ScanRejected):
        message = event.error.message(lang)
        return (
            {"event": "rejected", "code": event.error.code, "message": message},
            f"{msg('commands.scan.rejected').text(lang)}: {message}",
        )
    assert isinstance(event, ScanStatus)
    return (
        {"event": "status", "state": event.state.value, "source": event.source},
        f"[{event.source}] {event.state.value}",
    )


async def _watch(
    obj: CliContext,
    count: int | None,
    timeout_s: float | None,
    sample: bool,
    as_json: bool,
    state_dir: Path | None,
) -> int:
    # The sample reads into a scanner of this process; else the world's, when one runs.
    facts = None if sample else world_facts(obj.settings, state_dir)
    scanner = build_scanner(obj.settings.scanner, facts)
    if sample and not isinstance(scanner, SimulatedScanner):
        raise ConfigError(
            msg("commands.scan.watch"),
        )
    reads = 0
    stream = scanner.events()
    try:
        async with asyncio.timeout(timeout_s):
            async for event in stream:
                data, text = _describe(event, obj.lang)
                click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)
                if isinstance(event, ScanStatus) and sample:
                    assert isinstance(scanner, SimulatedScanner)
                    # A cut read first; the whole label once the gap has passed.
                    scanner.scan_cut(_SAMPLE, keep=30)
                    asyncio.get_running_loop().call_later(scanner.gap_s * 3, scanner.scan, _SAMPLE)
                    sample = False
                if isinstance(event, ScanPayload):
                    reads += 1
                    if count is not None and reads >= count:
                        break
    except TimeoutError:
        pass
    finally:
        await scanner.close()
        await stream.aclose()
    return reads


@click.command()
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N reads.")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Stop after S seconds.")
@click.option("--sample", is_flag=True, help="Simulated scanner: read a fictitious INS label.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document per line.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The simulated world to watch (default: the demo's).",
)
@click.pass_obj
def scan(
    obj: CliContext,
    count: int | None,
    timeout_s: float | None,
    sample: bool,
    as_json: bool,
    state_dir: Path | None,
) -> None:
    """Print decoded payloads from the 2D scanner as they arrive."""
    reads = asyncio.run(_watch(obj, count, timeout_s, sample, as_json, state_dir))
    if reads == 0 and timeout_s is not None:
        raise NotFound(
            msg("commands.scan.scan", timeout_s=timeout_s),
        )
