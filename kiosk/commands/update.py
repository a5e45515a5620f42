"""``kiosk update``: signed A/B updates with RAUC (issue 20).

* ``install FILE.raucb``: refused while a patient is served or a DMP write is mid-send;
  the bundle's signature and compatible are checked (``rauc info``) before RAUC writes
  the other slot; the update is recorded as pending on the data partition, then the
  kiosk reboots once into it (``--no-reboot`` to do it later);
* ``judge``: after that boot, the self-test decides: mark good, or mark bad and reboot
  into the old slot (``kiosk-update-judge.service`` runs it at every boot);
* ``status``: the slot running, the committed one, what is pending, the boot history;
* ``from-usb DIR``: the newest acceptable bundle on a mounted stick
  (``kiosk-usb-update@.service``), waiting while a patient is served;
* ``tryboot ARGS``: RAUC's custom bootloader backend (``/usr/lib/kiosk/rauc-tryboot``).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

import click

from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext, emit
from kiosk.errors import UpdateError
from kiosk.locale import msg, text

__all__ = ["update"]


@click.group()
def update() -> None:
    """Install a signed update, judge a new slot, see the boot history."""


@update.command()
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--no-reboot", is_flag=True, help="Install, then reboot later.")
@click.option("--action-id", default="", hidden=True, help="The fleet's action (kiosk/fleet).")
@click.pass_obj
def install(obj: CliContext, bundle: Path, no_reboot: bool, action_id: str) -> None:
    """Install FILE.raucb into the other slot and boot it once (a USB stick, or the fleet)."""
    from kiosk.update.history import Pending
    from kiosk.update.tryboot import PARTITIONS
    from kiosk.wiring import update as wired

    settings, clock, lang = obj.settings, SystemClock(), obj.lang
    busy = wired.why_busy(settings, clock)
    if busy is not None:
        raise UpdateError(msg(f"update.busy.{busy}"), detail=busy)
    rauc = wired.rauc()

    async def run() -> str:
        info = await rauc.info(bundle)
        click.echo(text("update.verified", lang, version=info.version), err=True)
        await rauc.install(bundle)
        running = wired.booted()
        slot = next((s for s in PARTITIONS if s != running), "B")
        pending = Pending(slot, info.version, clock.now().isoformat(), action_id)
        wired.history(settings).set_pending(pending)
        return slot

    slot = asyncio.run(run())
    click.echo(text("update.installed", lang, slot=slot))
    if not no_reboot:
        asyncio.run(rauc.reboot(trial=True))


@update.command("from-usb")
@click.argument("root", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--wait", "wait_s", type=float, default=3600.0, show_default=True)
@click.option("--no-reboot", is_flag=True, help="Install, then reboot later.")
@click.pass_obj
def from_usb(obj: CliContext, root: Path, wait_s: float, no_reboot: bool) -> None:
    """Install the newest bundle of a stick mounted at ROOT, if newer than what runs."""
    import time

    from kiosk.update.history import Pending
    from kiosk.update.tryboot import PARTITIONS
    from kiosk.update.usb import bundles_on, newer
    from kiosk.wiring import update as wired

    settings, clock, lang = obj.settings, SystemClock(), obj.lang
    running = settings.site.lps_version
    offered = [(v, p) for v, p in bundles_on(root) if newer(v, running)]
    if not offered:
        click.echo(text("update.usb.nothing", lang, version=running))
        return
    deadline = time.monotonic() + wait_s
    while (busy := wired.why_busy(settings, clock)) is not None:
        if time.monotonic() > deadline:
            raise UpdateError(msg(f"update.busy.{busy}"), detail=busy)
        time.sleep(30)  # the patient first; the stick waits
    rauc = wired.rauc()

    async def run() -> str:
        refused: list[str] = []
        for _named, bundle in offered:
            try:
                info = await rauc.info(bundle)
            except UpdateError as exc:
                refused.append(f"{bundle.name}: {exc.detail}")
                continue
            if not newer(info.version, running):  # the name said newer, the manifest not
                refused.append(f"{bundle.name}: version {info.version}")
                continue
            await rauc.install(bundle)
            slot = next((s for s in PARTITIONS if s != wired.booted()), "B")
            wired.history(settings).set_pending(
                Pending(slot, info.version, clock.now().isoformat())
            )
            return slot
        raise UpdateError(msg("update.usb.refused"), detail="; ".join(refused))

    slot = asyncio.run(run())
    click.echo(text("update.installed", lang, slot=slot))
    if not no_reboot:
        asyncio.run(rauc.reboot(trial=True))


@update.command()
@click.option("--deadline", "deadline_s", type=float, default=180.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def judge(obj: CliContext, deadline_s: float, as_json: bool) -> None:
    """After a boot into a new slot: mark it good if healthy, else go back to the old one."""
    from kiosk.update.trial import judge_trial
    from kiosk.wiring import update as wired

    settings, clock = obj.settings, SystemClock()
    outcome = asyncio.run(
        judge_trial(
            history=wired.history(settings),
            booted=wired.booted(),
            rauc=wired.rauc(),
            health=lambda: wired.selftest_health(settings, clock),
            clock=clock,
            deadline_s=deadline_s,
        )
    )
    line = text(
        f"update.outcome.{outcome.outcome}",
        obj.lang,
        slot=outcome.slot,
        version=outcome.version,
        reason=outcome.reason,
    )
    emit(as_json, asdict(outcome), line)


@update.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: CliContext, as_json: bool) -> None:
    """The slot running, the committed one, the update pending and the boot history."""
    from kiosk.errors import InvalidInput
    from kiosk.wiring import update as wired

    history = wired.history(obj.settings)
    pending = history.pending()
    try:
        committed: str | None = wired.selector().get_primary()
    except InvalidInput:
        committed = None
    boots = [asdict(r) for r in history.records()]
    data = {
        "booted": wired.booted(),
        "committed": committed,
        "pending": asdict(pending) if pending else None,
        "boots": boots,
    }
    lines = [
        text(
            "update.status",
            obj.lang,
            booted=data["booted"] or "?",
            committed=committed or "?",
            pending=f"{pending.slot} {pending.version}" if pending else "—",
        )
    ]
    lines += [
        f"  {r['at']}  {r['slot']}  {r['version']}  {r['outcome']}  {r['reason']}" for r in boots
    ]
    emit(as_json, data, "\n".join(lines))


@update.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def tryboot(args: tuple[str, ...]) -> None:
    """RAUC's custom bootloader backend over autoboot.txt (get-primary, set-state …)."""
    from kiosk.wiring import update as wired

    out = wired.selector().run(list(args))
    if out:
        click.echo(out)
