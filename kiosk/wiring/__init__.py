"""The composition root: ``Settings`` → ready objects; the only place that picks adapters.

Each ``build_*`` function reads one section's ``kind`` (``kiosk/config.py``) and
imports the chosen adapter inside its branch, so a command loads only what it uses
(STYLE.md §2). Simulation facts come from the running world (``world.json`` under
:func:`sim_state_dir`): the simulated DMP answers at the world's ``dmp_url`` and
trusts the test PKI of the world's state directory.

One concept per module:

* ``world`` — the simulated world's state directory, facts and device sockets;
* ``devices`` — card reader and monitor, CPS/CPE module, printer, scanner;
* ``signers`` — the establishment's ``ORG_SIGN`` (test PKI, PKCS#11 token, PEM files);
* ``dmp`` — the DMP client in indirect mode and its HTTP client;
* ``insi`` — the INSi client and its endpoint;
* ``outbox`` — the outbox store, its device key, sender and trust policy;
* ``records`` — the local identity records;
* ``probes`` — the connectivity/health probes of the TUI footer;
* ``services`` — :class:`Services`, the bundle ``kiosk run``, ``kiosk demo`` and the
  TUI receive, opened and closed in order by :func:`open_services`.
"""

from __future__ import annotations

from kiosk.wiring.devices import (
    build_card_monitor,
    build_card_reader,
    build_cps,
    build_printer,
    build_scanner,
)
from kiosk.wiring.dmp import build_dmp_client, build_dmp_http, dmp_endpoint
from kiosk.wiring.insi import insi_client, insi_endpoint
from kiosk.wiring.outbox import (
    open_outbox,
    outbox_device_key,
    outbox_sender,
    outbox_sender_kind,
    outbox_trust,
)
from kiosk.wiring.probes import Probe, ProbeResult
from kiosk.wiring.records import RECORDS_FILE, open_records, records_path
from kiosk.wiring.services import Services, open_services
from kiosk.wiring.signers import establishment_signer, insi_signer
from kiosk.wiring.world import sim_state_dir, use_world_devices, world_facts, world_state

__all__ = [
    "RECORDS_FILE",
    "Probe",
    "ProbeResult",
    "Services",
    "build_card_monitor",
    "build_card_reader",
    "build_cps",
    "build_dmp_client",
    "build_dmp_http",
    "build_printer",
    "build_scanner",
    "dmp_endpoint",
    "establishment_signer",
    "insi_client",
    "insi_endpoint",
    "insi_signer",
    "open_outbox",
    "open_records",
    "open_services",
    "outbox_device_key",
    "outbox_sender",
    "outbox_sender_kind",
    "outbox_trust",
    "records_path",
    "sim_state_dir",
    "use_world_devices",
    "world_facts",
    "world_state",
]
