"""The bundle of services ``kiosk run``, ``kiosk demo`` and the TUI receive.

:func:`open_services` opens everything a desk needs, in order, and closes it in the
reverse order when the block ends (an :class:`contextlib.AsyncExitStack`): the device
key and the outbox, the records, the establishment's signers and HTTP clients, the
card monitor, the printer and the scanner. The two flows are per admission (they
hold one patient, and the enrolment signs with the agent's CPE), so the bundle
carries their factories, not flows.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cards.tally import TALLY_FILE, CardTally, TalliedMonitor
from kiosk.clock import Clock, SystemClock
from kiosk.config import Settings
from kiosk.domain.consent import InformationChannel
from kiosk.errors import ConfigError
from kiosk.locale import msg
from kiosk.signing import Signer
from kiosk.wiring.agents import build_agent_directory
from kiosk.wiring.devices import (
    CardReaders,
    PrinterTarget,
    build_card_monitor,
    build_card_reader,
    build_cps,
    build_printer,
    build_scanner,
    private_sim_printer,
)
from kiosk.wiring.dmp import dmp_endpoint
from kiosk.wiring.documents import document_desk
from kiosk.wiring.insi import insi_client, insi_endpoint
from kiosk.wiring.probes import FunctionProbe, HttpProbe, Probe, ProbeResult
from kiosk.wiring.world import world_facts
from kiosk.wiring.writes import named, open_writes

if TYPE_CHECKING:
    from kiosk.cards.pkcs11 import CpsModule
    from kiosk.cards.ports import CardMonitor, VitaleReader
    from kiosk.dmp.client import DmpClient
    from kiosk.domain.vitale import VitaleCardData
    from kiosk.insi.client import InsiClient
    from kiosk.outbox.store import OutboxStore
    from kiosk.printing.profiles import PrinterProfile
    from kiosk.printing.queue import PrintQueue
    from kiosk.records.store import RecordStore
    from kiosk.scanning.ports import Scanner
    from kiosk.services.desk import Desk
    from kiosk.services.documents import DocumentDesk
    from kiosk.services.enrolment import EnrolmentFlow
    from kiosk.services.identity import IdentityFlow
    from kiosk.services.self_service import SelfService
    from kiosk.services.session import AgentSession
    from kiosk.services.sync import SyncService

__all__ = ["Services", "open_services"]


@dataclass(frozen=True)
class Services:
    """Everything a desk runs on, opened by :func:`open_services`."""

    settings: Settings
    clock: Clock
    readers: CardReaders
    card_monitor: CardMonitor
    vitale: VitaleReader
    cps: CpsModule
    session: AgentSession
    printer: PrinterTarget
    profile: PrinterProfile
    print_queue: PrintQueue
    scanner: Scanner | None
    records: RecordStore
    outbox: OutboxStore
    sync: SyncService
    insi: InsiClient
    dmp: DmpClient
    probes: tuple[Probe, ...]
    identity_flow: Callable[[Callable[[], Awaitable[VitaleCardData]]], IdentityFlow]
    """A new identity flow reading the Vitale card through the given function."""
    enrolment_flow: Callable[[Signer, str, str, str], EnrolmentFlow]
    """A new admission: (agent's signer, agent's id, patient's first and family name)."""
    desk: Desk
    """The desk's cards, login and admission in progress, audited: what the TUI drives."""
    self_service: SelfService
    """The self-service kiosk's patient, routed to the desk or wiped (``--mode self``)."""


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    state_dir: Path | None = None,
    extra_probes: Sequence[Probe] = (),
) -> AsyncIterator[Services]:
    """Open every service of ``settings`` for the block; close them in reverse order.

    ``extra_probes`` go after the footer's usual lights (``kiosk demo`` adds the
    world's, :func:`kiosk.wiring.probes.world_probe`).
    """
    from kiosk.domain.ins import InsEnvironment
    from kiosk.printing.profiles import load_profile
    from kiosk.printing.queue import PrintQueue
    from kiosk.services.activity import SERVING_LOCK, Activity
    from kiosk.services.admission import Admission, Agent
    from kiosk.services.credentials import ReceiptPrinter
    from kiosk.services.desk import Desk
    from kiosk.services.enrolment import EnrolmentFlow
    from kiosk.services.identity import IdentityFlow
    from kiosk.services.named import table_role
    from kiosk.services.self_service import SelfService, TicketPrinter
    from kiosk.services.session import AgentSession

    clock = clock or SystemClock()
    site = settings.site
    environment = InsEnvironment(site.environment)
    facts = world_facts(settings, state_dir)
    agents = build_agent_directory(settings, clock)
    production = site.environment == "production"
    if site.indirect_mode and production and agents is None:
        # Seed 000: « L'accès au DMP nécessite une identification nominative ».
        raise ConfigError(msg("wiring.agents.required"), detail="agents.kind")
    async with contextlib.AsyncExitStack() as stack:
        writes = await stack.enter_async_context(
            open_writes(settings, clock, facts=facts, state_dir=state_dir)
        )
        outbox, records, dmp, sync = writes.outbox, writes.records, writes.dmp, writes.sync
        insi = await stack.enter_async_context(
            insi_client(settings, clock, facts, shared_signer=writes.signer)
        )

        readers = build_card_reader(settings, state_dir)
        # Counted for IT's metrics (``kiosk_card_events``, served by ``kiosk sync``).
        monitor = TalliedMonitor(
            build_card_monitor(settings, state_dir),
            CardTally(settings.paths.data_dir / TALLY_FILE),
        )
        stack.push_async_callback(monitor.aclose)
        cps = build_cps(settings, state_dir)
        profile = load_profile(settings.printer.profile)
        found = build_printer(settings, profile, state_dir)
        if found is None:  # simulated printer, no world running: a private one
            found = (await stack.enter_async_context(private_sim_printer(profile)))[0]
        printer: PrinterTarget = found
        queue = PrintQueue(printer.printer, clock)
        # Indirect mode only where the site allows it: the session refuses it otherwise.
        establishment = f"ORG {site.establishment_id}" if site.indirect_mode else None
        session = AgentSession(cps, clock, establishment_label=establishment, print_queue=queue)
        stack.push_async_callback(session.logout)  # a session left open ends with the services
        scanner = None
        if settings.scanner.kind != "none":  # the world's scanner when one runs (kind sim)
            scanner = build_scanner(settings.scanner, facts)
        if scanner is not None:
            stack.push_async_callback(scanner.close)

        def identity_flow(read_card: Callable[[], Awaitable[VitaleCardData]]) -> IdentityFlow:
            return IdentityFlow(
                read_card=read_card,
                insi=insi,
                store=records,
                clock=clock,
                environment=environment,
            )

        def enrolment_flow(
            agent: Signer,
            recorded_by: str,
            first_name: str,
            family_name: str,
            channel: InformationChannel = InformationChannel.DESK,
        ) -> EnrolmentFlow:
            receipts = ReceiptPrinter(
                queue,
                profile,
                clock,
                establishment=site.establishment_name,
                portal_url=site.patient_portal_url,
                first_name=first_name,
                family_name=family_name,
            )
            # The VIHF and the queued items name the person logged in, not the installation.
            who = session.professional
            role = table_role(who) if who is not None else ""
            named_dmp, queued_port = named(writes, agent, sync.run_once, who, recorded_by, role)
            return EnrolmentFlow(
                dmp=named_dmp,
                outbox=queued_port,
                records=records,
                printer=receipts,
                clock=clock,
                structure_id=site.establishment_id,
                recorded_by=recorded_by,
                channel=channel,
                brochure_version=site.brochure_version,
            )

        def documents(agent: Signer, recorded_by: str) -> DocumentDesk:
            who = session.professional
            return document_desk(
                settings,
                writes,
                run_once=sync.run_once,
                clock=clock,
                signer=agent,
                who=who,
                recorded_by=recorded_by,
                role=table_role(who) if who is not None else "",
                mode=session.mode.value if session.mode else "",
            )

        desk = Desk(
            session=session,
            trail=outbox,
            queue=outbox,
            clock=clock,
            open_channel=readers.open_channel,
            read_vitale=readers.vitale.read,
            identity_flow=identity_flow,
            enrolment_flow=enrolment_flow,
            document_desk=documents,
            agents=agents,
            named_agents_required=production,
            establishment_pin=_establishment_pin(settings),
            activity=Activity(settings.paths.data_dir / SERVING_LOCK),
        )
        vitale = readers.vitale
        installation = site.lps_id

        def begin_self(reader: str) -> Admission:
            # The kiosk in the hall: the establishment's certificate, the installation named.
            return Admission(
                reader=reader,
                identity=identity_flow(lambda: vitale.read(reader)),
                enrolment=lambda first, family: enrolment_flow(
                    writes.signer, installation, first, family, InformationChannel.KIOSK
                ),
                trail=outbox,
                queue=outbox,
                clock=clock,
                agent=Agent(installation, "indirect"),
            )

        self_service = SelfService(
            begin=begin_self,
            tickets=TicketPrinter(queue, profile, clock, establishment=site.establishment_name),
            trail=outbox,
            clock=clock,
            installation=installation,
            timeout_s=settings.selfservice.inactivity_timeout_s,
            activity=Activity(settings.paths.data_dir / SERVING_LOCK),
        )
        yield Services(
            settings=settings,
            clock=clock,
            readers=readers,
            card_monitor=monitor,
            vitale=readers.vitale,
            cps=cps,
            session=session,
            printer=printer,
            profile=profile,
            print_queue=queue,
            scanner=scanner,
            records=records,
            outbox=outbox,
            sync=sync,
            insi=insi,
            dmp=dmp,
            probes=(*_probes(settings, facts, outbox, readers, printer), *extra_probes),
            identity_flow=identity_flow,
            enrolment_flow=enrolment_flow,
            desk=desk,
            self_service=self_service,
        )


def _establishment_pin(settings: Settings) -> Callable[[], str] | None:
    """The site's establishment PIN for named logins (``agents.establishment_pin_file``)."""
    path = settings.agents.establishment_pin_file
    if path is None:
        return None
    from kiosk.wiring.signers import token_pin

    def read() -> str:
        return token_pin(
            path,
            setting="agents.establishment_pin_file",
            required_by="agents.kind",
            what=f"ORG {settings.site.establishment_id}",
        )

    return read


def _probes(
    settings: Settings,
    facts: Mapping[str, object],
    outbox: OutboxStore,
    readers: CardReaders,
    printer: PrinterTarget,
) -> tuple[Probe, ...]:
    """The footer's lights, in the order shown."""

    async def outbox_depth() -> ProbeResult:
        status = await outbox.status()
        waiting = sum(n for state, n in status.counts.items() if state != "done")
        return ProbeResult(True, str(waiting))

    async def card_readers() -> ProbeResult:
        import asyncio

        slots = await asyncio.to_thread(readers.slots)
        return ProbeResult(bool(slots), str(len(slots)))

    async def printer_ready() -> ProbeResult:
        status = await printer.printer.status()
        return ProbeResult(status.ready, "ok" if status.ready else "fault")

    return (
        HttpProbe("insi", insi_endpoint(settings, facts), timeout_s=settings.insi.timeout_s),
        HttpProbe("dmp", dmp_endpoint(settings, facts), timeout_s=settings.dmp.timeout_s),
        FunctionProbe("outbox", outbox_depth),
        FunctionProbe("readers", card_readers),
        FunctionProbe("printer", printer_ready),
    )
