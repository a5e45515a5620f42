"""``kiosk sync --once`` to the simulated DMP over a real socket, through ``kiosk/wiring/``.

The services run as the demo runs them (``kiosk sim serve`` child on an ephemeral
port, its URL published in ``world.json``); the creation is enqueued by the
enrolment's outbox adapter, signed with the establishment's key; the DMP is looked up
through the simulator's inspection door.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kiosk.clock import SystemClock
from kiosk.commands.context import CliContext
from kiosk.commands.outbox import outbox, sync
from kiosk.dmp.items import creation_item
from kiosk.dmp.transactions import ConsentStatement, CreationRequest, VitaleTraits
from kiosk.domain.ins import Ins
from kiosk.errors import Unavailable
from kiosk.outbox.delivery import StoreOutbox
from kiosk.outbox.keys import FileDeviceKey
from kiosk.outbox.store import OutboxStore
from kiosk.sim.pki import ESTABLISHMENT, TestPki, ensure_test_pki
from kiosk.sim.world import ServicesComponent, SimWorld

# Fictitious patient under the INS test OID (DOMAIN.md §7 vector, valid key).
PATIENT = Ins.of("277076322082910", "1.2.250.1.213.1.4.10")
TRAITS = VitaleTraits("TESTEUR", "ALICE", "19770706", 1, "F")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    # The worker's PKI, shared with the other areas' tests: key generation is the slow part.
    return ensure_test_pki(tmp_path_factory.getbasetemp() / "worker-pki")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def make_context(tmp_path: Path, pki: TestPki, dead_port: int) -> CliContext:
    """A kiosk whose data dir is ``tmp_path``: its world, PKI and outbox live there."""
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "pki").symlink_to(pki.directory, target_is_directory=True)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path}"\n'
        f'[outbox]\ndatabase = "{tmp_path / "outbox.sqlite3"}"\n'
        f'device_key = "{tmp_path / "device.key"}"\n'
        f'trusted_ca = "{pki.ca_certificate_path}"\n'
        # Without a running world the DMP is this endpoint, where nothing listens.
        f'[dmp]\nkind = "sim"\nendpoint = "http://127.0.0.1:{dead_port}/dmp"\n'
    )
    return CliContext(config_path=config, lang="en")


async def enqueue_creation(tmp_path: Path, pki: TestPki) -> str:
    """The admission's creation, committed to the outbox as the enrolment flow does."""
    store = await OutboxStore.open(
        tmp_path / "outbox.sqlite3",
        FileDeviceKey.load_or_create(tmp_path / "device.key"),
        SystemClock(),
    )
    try:
        consent = ConsentStatement(datetime.now(UTC), creation=True, establishment_access=True)
        kind, key, payload = creation_item(CreationRequest(PATIENT, TRAITS, consent))

        async def offline() -> None:  # the desk's sync worker is not running here
            return None

        await StoreOutbox(store, pki.signer_for(ESTABLISHMENT), offline).enqueue(kind, key, payload)
        return key
    finally:
        await store.close()


def invoke(
    command: object, context: CliContext, *args: str, fails: type[Exception] | None = None
) -> dict[str, object]:
    """Run a command with ``--json``; ``fails``: the error it must end with after its output."""
    result = CliRunner().invoke(command, [*args, "--json"], obj=context)  # type: ignore[arg-type]
    if fails is not None:
        assert isinstance(result.exception, fails), result.exception
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    else:
        assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]  # logs may go to stderr


def creations(dmp_url: str) -> tuple[dict[str, object], int]:
    """The simulated DMP's record of the patient, and how many TD1.1 it was sent."""
    shown = httpx.get(f"{dmp_url}/_sim/dmp/{PATIENT.matricule.value}", timeout=30.0).json()
    traces = [t for t in shown["traces"] if t["transaction"] == "TD1.1"]
    return shown, len(traces)


def test_a_queued_creation_waits_for_the_dmp_then_reaches_it_once(
    tmp_path: Path, pki: TestPki, closed_port: int
) -> None:
    context = make_context(tmp_path, pki, closed_port)
    key = asyncio.run(enqueue_creation(tmp_path, pki))

    down = invoke(sync, context, "--once", fails=Unavailable)  # exit 3: the service is down
    assert down["sent"] == 0
    assert down["offline"] is True
    [row] = invoke(outbox, context, "list")  # type: ignore[misc]
    assert (row["idempotency_key"], row["state"]) == (key, "pending")  # type: ignore[index]

    world = SimWorld(state_dir=tmp_path / "sim", components=[ServicesComponent(port=0)])
    with world.running():
        dmp_url = str(world.facts["dmp_url"])
        assert creations(dmp_url)[0]["exists"] is False

        up = invoke(sync, context, "--once")
        assert (up["sent"], up["dead"]) == (1, 0)
        shown, sent = creations(dmp_url)
        assert shown["exists"] is True
        assert shown["authorizations"] == {"3750100000": "VALIDE"}
        assert sent == 1

        again = invoke(sync, context, "--once")
        assert again["sent"] == 0
        assert creations(dmp_url)[1] == 1
        status = invoke(outbox, context, "status")
        assert status["counts"] == {"pending": 0, "in_flight": 0, "done": 1, "dead": 0}
