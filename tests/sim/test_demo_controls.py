"""``kiosk sim scan`` and ``kiosk sim network`` drive a running world as a second terminal would.

The scan reaches whoever listens to the world's scanner (the kiosk's ``SocketScanner``,
as wiring builds it for ``scanner.kind = "sim"``); the network cut is what an outage
looks like to a client: connection refused, and the connection it held reset.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from kiosk.config import ScannerConfig
from kiosk.domain.datamatrix import parse_payload
from kiosk.scanning.devices import SocketScanner
from kiosk.scanning.ports import ScannerState, ScanPayload, ScanStatus
from kiosk.sim.scanner import people
from kiosk.sim.world import SimWorld
from kiosk.wiring.devices import build_scanner
from kiosk.wiring.probes import HttpProbe
from tests import softhsm as tokens
from tests.command_line import RunMain, kiosk_main
from tests.demo_world import remote_world

__all__ = ["kiosk_main", "remote_world"]  # fixtures, used by name

test_pki = tokens.test_pki


def _state(world: SimWorld) -> list[str]:
    return ["--state-dir", str(world.state_dir)]


async def _next_payload(scanner: SocketScanner, send: asyncio.Future[None]) -> ScanPayload:
    """Wait until the scanner is connected, let ``send`` go, return the read it gets.

    Unbounded here: the caller bounds the connection and, once the CLI has sent, the read,
    each on its own (on a loaded machine the CLI alone can take seconds).
    """
    async for event in scanner.events():
        if isinstance(event, ScanStatus) and event.state is ScannerState.CONNECTED:
            send.set_result(None)
        elif isinstance(event, ScanPayload):
            return event
    raise AssertionError("the scanner stream ended")


async def test_sim_scan_reaches_the_kiosks_scanner(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    facts = remote_world.facts
    scanner = build_scanner(ScannerConfig(kind="sim"), facts)
    assert isinstance(scanner, SocketScanner)
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    reading = asyncio.create_task(_next_payload(scanner, connected))
    await asyncio.wait_for(asyncio.shield(connected), 20)
    run = kiosk_main  # the CLI in a thread: it blocks on its socket while we listen
    code, out, _ = await asyncio.to_thread(
        run, "sim", "scan", "ange-casanova", *_state(remote_world)
    )
    assert code == 0, out
    read = await asyncio.wait_for(reading, 20)
    await scanner.close()
    assert code == 0
    assert "1 kiosque(s)" in out
    found = parse_payload(read.data)
    person = people()["ange-casanova"]
    assert found.ins.matricule.value == person.matricule
    assert found.traits.birth_place == "2A004"
    assert found.traits.birth_family_name == "CASANOVA-TEST"


async def test_kiosk_scan_in_another_terminal_shows_what_sim_scan_sends(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    """``kiosk scan`` watches the world's scanner, as the desk does, not one of its own."""
    watcher = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kiosk", "scan", "--json", "--count", "1", "--timeout", "30"),
        *_state(remote_world),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"KIOSK_LANG": "fr", "PATH": "/usr/bin:/bin"},
        cwd=remote_world.state_dir.parent,
    )
    try:
        out = ""
        for _ in range(100):  # until the watcher is connected: the sim names one kiosk
            code, out, _ = await asyncio.to_thread(
                kiosk_main, "sim", "scan", "ange-casanova", *_state(remote_world)
            )
            if code == 0 and "1 kiosque(s)" in out:
                break
            await asyncio.sleep(0.1)
        assert "1 kiosque(s)" in out
        async with asyncio.timeout(30):
            stdout, stderr = await watcher.communicate()
    finally:
        if watcher.returncode is None:
            watcher.kill()
            await watcher.wait()
    assert watcher.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    read = next(line for line in lines if line["event"] == "read")
    assert read["kind"] == "ins"
    assert people()["ange-casanova"].matricule in read["payload"]


def test_sim_scan_of_an_unknown_person_names_the_known_ones(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    code, _, err = kiosk_main("sim", "scan", "nobody", *_state(remote_world))
    assert code == 2
    assert "nobody" in err
    assert "paul-martin" in err


def test_sim_scan_without_a_world_is_one_clear_line(tmp_path: Path, kiosk_main: RunMain) -> None:
    code, _, err = kiosk_main("sim", "scan", "paul-martin", "--state-dir", str(tmp_path))
    assert code == 2
    assert "kiosk demo" in err


def test_homonyms_get_their_birth_place() -> None:
    names = list(people())
    assert len(names) == len(set(names)) == 15
    assert sum(name.startswith("marie-garnier-") for name in names) == 2


async def test_insi_fault_reaches_the_world_on_whatever_port_it_took(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    """The world's services listen on a free port (``--services-port 0``), not the default."""
    assert not str(remote_world.facts["services_url"]).endswith(":8471")
    code, out, err = await asyncio.to_thread(
        kiosk_main, "sim", "insi-fault", "http500", "--json", *_state(remote_world)
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {"queued": ["http500"]}
    async with httpx.AsyncClient(timeout=5) as client:  # the next INSi answer is the fault
        reply = await client.post(str(remote_world.facts["insi_url"]), content=b"<x/>")
    assert reply.status_code == 503  # the bare page of "http500", not a SOAP fault


async def _up(world: SimWorld, service: str) -> bool:
    probe = HttpProbe(service, str(world.facts[f"{service}_url"]), timeout_s=2)
    return (await probe.check()).up


async def test_sim_network_cut_refuses_and_resets_then_restore_answers(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    insi = str(remote_world.facts["insi_url"])
    async with httpx.AsyncClient(timeout=5) as held:  # a kept-alive connection, as clients hold
        assert (await held.head(insi)).status_code < 500
        code, out, _ = await asyncio.to_thread(
            kiosk_main, "--lang", "en", "sim", "network", "cut", "insi", *_state(remote_world)
        )
        assert code == 0
        assert out.splitlines() == ["insi: cut", "dmp: reachable"]
        with pytest.raises(httpx.TransportError):
            await held.head(insi)
    assert not await _up(remote_world, "insi")
    assert await _up(remote_world, "dmp")
    with pytest.raises(httpx.ConnectError):  # refused, as an outage looks
        async with httpx.AsyncClient(timeout=5) as fresh:
            await fresh.head(insi)

    code, out, _ = await asyncio.to_thread(
        kiosk_main, "--lang", "en", "sim", "network", "restore", *_state(remote_world)
    )
    assert code == 0
    assert out.splitlines() == ["insi: reachable", "dmp: reachable"]
    assert await _up(remote_world, "insi")
    assert str(remote_world.facts["insi_url"]) == insi  # the same address again


async def test_sim_network_cut_all_takes_both_down(
    remote_world: SimWorld, kiosk_main: RunMain
) -> None:
    code, out, _ = await asyncio.to_thread(
        kiosk_main, "sim", "network", "cut", "--json", *_state(remote_world)
    )
    assert code == 0
    assert out.strip() == '{"dmp": false, "insi": false}'
    assert not await _up(remote_world, "insi")
    assert not await _up(remote_world, "dmp")
