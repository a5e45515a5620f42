"""``kiosk selftest`` against the simulated world, each check made to fail once.

Issue 19: "`selftest` against the simulated world, each check made to fail once
(printer out of paper, a token missing, the DMP down, a clock 2 h off, a full disk)".
The world is the demo's (readers with cards, tokens, INSi/DMP behind the cuttable
network, printer, scanner), over its real sockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from cryptography import x509

from kiosk.clock import FrozenClock, SystemClock
from kiosk.config import Settings, parse_settings
from kiosk.domain.audit import AuditEvent, AuditKind
from kiosk.domain.health import (
    CERT_WARN_DAYS,
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    Level,
    certificate_level,
    clock_level,
    disk_level,
)
from kiosk.sim.control import SimControl, network_request_in
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import TestPki
from kiosk.sim.printer.control import control
from kiosk.sim.world import SimWorld
from kiosk.wiring.selftest import CHECKS, DiskUsage, SelfTest
from kiosk.wiring.world import world_facts
from tests import softhsm as tokens
from tests.demo_world import demo_world
from tests.desk import sim_settings

__all__ = ["demo_world"]  # fixtures, used by name

test_pki = tokens.test_pki
softhsm = tokens.softhsm


@pytest.fixture
def world(demo_world: SimWorld, softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> SimWorld:
    """The demo world, its PKCS#11 tokens read from the worker's equivalent ones.

    SoftHSM2 binds a process to the first token directory it meets: this process must
    stay on the worker's, which other tests add keys to (the world's tokens have the
    same labels and keys, from the same test PKI).
    """
    monkeypatch.setenv("SOFTHSM2_CONF", softhsm.env["SOFTHSM2_CONF"])
    return demo_world


def _settings(world: SimWorld, **sections: dict[str, object]) -> Settings:
    home = world.state_dir.parent
    data: dict[str, object] = {
        "paths": {"data_dir": str(home), "log_dir": str(home / "log")},
        "outbox": {"database": str(home / "outbox.sqlite3"), "device_key": str(home / "dk")},
    }
    for name, values in sections.items():
        merged = dict(data.get(name, {}))  # type: ignore[call-overload]
        merged.update(values)
        data[name] = merged
    return parse_settings(data, source="test.toml")


def _selftest(world: SimWorld, settings: Settings | None = None, **kw: object) -> SelfTest:
    return SelfTest(
        settings or _settings(world), "en", state_dir=world.state_dir, timeout_s=8.0, **kw
    )  # type: ignore[arg-type]


async def _insert(world: SimWorld, card: str) -> None:
    """Put ``card`` in a reader of the world and wait until PC/SC shows it."""
    settings = _settings(world)
    control = SimControl(
        lambda: world_facts(settings, world.state_dir), world.state_dir / "cards" / "cards.sock"
    )
    await control.insert_card(card)
    for _ in range(50):  # the simulated reader reports a card within 20 ms
        found = await _selftest(world).check_readers()
        if any(slot["atr"] for slot in found.data["slots"]):  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"{card} never showed in a reader")


async def test_a_healthy_simulated_world_passes_every_check(world: SimWorld) -> None:
    await _insert(world, "adult")
    report = await _selftest(world).run()

    assert [c.name for c in report.checks] == list(CHECKS)
    failing = {c.name: c.detail for c in report.checks if c.level is not Level.OK}
    assert failing == {}
    readers = report.check("readers")
    assert readers.data["slots"], "the world's readers are listed"
    atrs = [slot["atr"] for slot in readers.data["slots"]]  # type: ignore[attr-defined]
    kinds = {slot.get("card") for slot in readers.data["slots"]}  # type: ignore[attr-defined]
    assert any(atrs), "the card in a slot shows its ATR"
    assert "vitale" in kinds, "and its kind"
    assert report.check("pkcs11").data["tokens"], "the world's SoftHSM tokens are listed"
    assert abs(report.check("clock").data["offsets_s"]["dmp"]) < 5  # type: ignore[index]
    assert report.level is Level.OK


async def test_a_printer_out_of_paper_fails_the_printer_check_only(world: SimWorld) -> None:
    settings = _settings(world)
    port = int(world_facts(settings, world.state_dir)["printer"]["control_port"])  # type: ignore[index]
    await asyncio.to_thread(control, port, "paper-out")

    report = await _selftest(world, settings).run()

    printer = report.check("printer")
    assert printer.level is Level.FAIL
    assert printer.detail == "The printer is out of paper."
    assert printer.action == "Load a new paper roll."
    assert [c.name for c in report.checks if c.level is Level.FAIL] == ["printer"]

    await asyncio.to_thread(control, port, "refill")
    assert (await _selftest(world, settings).run()).check("printer").level is Level.OK


async def test_a_missing_token_is_named(world: SimWorld) -> None:
    settings = _settings(world, outbox={"device_key_token": "KIOSK-DEVICE-7"})

    check = (await _selftest(world, settings).run()).check("pkcs11")

    assert check.level is Level.FAIL
    assert "KIOSK-DEVICE-7" in check.detail
    assert check.data["missing"] == ["KIOSK-DEVICE-7"]
    assert "token" in check.action


async def test_the_dmp_down_fails_the_dmp_check_and_the_clock_still_compares_with_insi(
    world: SimWorld,
) -> None:
    settings = _settings(world)
    facts = world_facts(settings, world.state_dir)
    await asyncio.to_thread(network_request_in, facts, "cut", ("dmp",))
    try:
        report = await _selftest(world, settings).run()
    finally:
        await asyncio.to_thread(network_request_in, facts, "restore", ("dmp",))

    assert report.check("dmp").level is Level.FAIL
    assert report.check("dmp").detail.startswith("Service unreachable")
    assert "outbox" not in report.check("dmp").action  # the DMP's own advice
    assert "local queue" in report.check("dmp").action
    assert report.check("insi").level is Level.OK
    assert report.check("clock").level is Level.OK
    assert set(report.check("clock").data["offsets_s"]) == {"insi"}  # type: ignore[arg-type]


async def test_a_clock_two_hours_off_fails(world: SimWorld) -> None:
    ahead = FrozenClock(datetime.now(UTC) + timedelta(hours=2))

    check = (await _selftest(world, clock=ahead).run()).check("clock")

    assert check.level is Level.FAIL
    assert 7190 <= check.data["offsets_s"]["insi"] <= 7210  # type: ignore[index]
    assert "VIHF" in check.action


async def test_a_full_data_partition_fails(world: SimWorld) -> None:
    full = DiskUsage(total=8 << 30, used=(8 << 30) - (10 << 20), free=10 << 20)

    check = (await _selftest(world, disk_usage=lambda _path: full).run()).check("disk")

    assert check.level is Level.FAIL
    assert check.detail == "10 MiB free on the data partition (0 %)."
    assert "purge" in check.action


def _settings_in(home: Path, **sections: dict[str, object]) -> Settings:
    base = sim_settings(home).model_dump(mode="json")
    for name, values in sections.items():
        base[name].update(values)
    return parse_settings(base, source="test.toml")


async def test_a_damaged_database_and_a_broken_audit_chain_fail(tmp_path: Path) -> None:
    from kiosk.audit.store import AuditLog
    from kiosk.outbox.keys import FileDeviceKey
    from kiosk.outbox.store import OutboxStore

    settings = _settings_in(tmp_path)
    clock = SystemClock()
    store = await OutboxStore.open(
        settings.outbox.database, FileDeviceKey.load_or_create(settings.outbox.device_key), clock
    )
    for n in range(3):
        await store.record(AuditEvent(clock.now(), AuditKind.LOGIN, actor=f"agent-{n}"))
    await store.close()
    sound = await SelfTest(settings, "en").check_database()
    assert sound.level is Level.OK
    assert sound.data["audit_events"] == (await AuditLog(settings.outbox.database).verify()).count

    with sqlite3.connect(settings.outbox.database) as conn:  # someone edits the trail
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET actor = 'agent-9' WHERE seq = 2")
    broken = await SelfTest(settings, "en").check_database()
    assert broken.level is Level.FAIL
    assert broken.detail.startswith("The audit chain is broken at row")
    assert "Delete nothing" in broken.action

    records = tmp_path / "identity.sqlite3"
    records.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)  # a torn file
    damaged = await SelfTest(settings, "en")._bounded("database")
    assert damaged.level is Level.FAIL
    assert "identity.sqlite3" in damaged.detail or damaged.data.get("code")


async def test_establishment_certificates_are_graded_by_the_days_they_have_left(
    tmp_path: Path, test_pki: TestPki
) -> None:
    files = test_pki.files("establishment", "sign")
    cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    settings = _settings_in(tmp_path, dmp={"sign_cert": str(files.certificate)})
    end = cert.not_valid_after_utc

    ok = await SelfTest(settings, "en", FrozenClock(end - timedelta(days=90))).check_certificates()
    soon = await SelfTest(settings, "en", FrozenClock(end - timedelta(days=9))).check_certificates()
    gone = await SelfTest(settings, "en", FrozenClock(end + timedelta(days=2))).check_certificates()

    assert (ok.level, soon.level, gone.level) == (Level.OK, Level.WARN, Level.FAIL)
    assert soon.detail == "The establishment's certificate dmp.sign_cert expires in 9 d."
    assert gone.detail.startswith("The establishment's certificate dmp.sign_cert has expired")
    assert "IGC Santé" in gone.action


async def _tls_server(pki: TestPki) -> tuple[asyncio.Server, int]:
    """A minimal HTTPS server with the test PKI's certificate, answering 200 with a Date."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.tls.certificate, pki.tls.key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            date = format_datetime(datetime.now(UTC), usegmt=True)
            writer.write(f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


async def test_a_service_certificate_near_its_end_warns(tmp_path: Path, test_pki: TestPki) -> None:
    server, port = await _tls_server(test_pki)
    end = x509.load_pem_x509_certificate(test_pki.tls.certificate.read_bytes()).not_valid_after_utc
    settings = _settings_in(
        tmp_path,
        dmp={
            "kind": "http",
            "endpoint": f"https://127.0.0.1:{port}/dmp",
            "ca_file": str(test_pki.ca_certificate_path),
        },
    )
    try:
        now = await SelfTest(settings, "en").check_dmp()
        late = await SelfTest(settings, "en", FrozenClock(end - timedelta(days=3))).check_dmp()
    finally:
        server.close()
        await server.wait_closed()

    assert now.level is Level.OK
    assert now.data["tls_not_after"] == end.isoformat()
    assert late.level is Level.WARN
    assert late.detail == "The service's TLS certificate expires in 3 d."


def test_the_grading_rules_hold_at_their_edges() -> None:
    assert [clock_level(s) for s in (0, -60, 61, -300, 301, -7200)] == [
        Level.OK,
        Level.OK,
        Level.WARN,
        Level.WARN,
        Level.FAIL,
        Level.FAIL,
    ]
    assert disk_level(DISK_WARN_BYTES) is Level.OK
    assert disk_level(DISK_WARN_BYTES - 1) is Level.WARN
    assert disk_level(DISK_FAIL_BYTES - 1) is Level.FAIL
    now = datetime(2026, 12, 4, tzinfo=UTC)
    assert certificate_level(now + timedelta(days=CERT_WARN_DAYS), now) is Level.OK
    assert certificate_level(now + timedelta(days=CERT_WARN_DAYS - 1), now) is Level.WARN
    assert certificate_level(now, now) is Level.FAIL


def test_the_command_prints_json_and_exits_3_when_a_check_fails(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        f'[paths]\ndata_dir = "{tmp_path}"\nlog_dir = "{tmp_path / "log"}"\n'
        f'[outbox]\ndatabase = "{tmp_path / "o.sqlite3"}"\ndevice_key = "{tmp_path / "dk"}"\n'
        '[cards]\nkind = "pcsc"\n'
        '[insi]\nkind = "http"\nendpoint = "http://127.0.0.1:9/insi"\n'
        '[dmp]\nkind = "http"\nendpoint = "http://127.0.0.1:9/dmp"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    env["PCSCLITE_CSOCK_NAME"] = str(tmp_path / "no-pcscd.sock")  # no reader service
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "--lang",
            "en",
            "--config",
            str(site),
            "selftest",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["level"] == "fail"
    levels = {c["name"]: c["level"] for c in report["checks"]}
    assert levels["insi"] == levels["dmp"] == levels["readers"] == "fail"
    assert levels["disk"] == "ok"
    assert all(c["action"] for c in report["checks"] if c["level"] == "fail")


async def test_a_clock_set_before_the_software_was_built_fails(tmp_path: Path) -> None:
    """A kiosk that lost its clock (no RTC on a Pi) boots in 1970 or at the image's date."""
    stopped = FrozenClock(datetime(2020, 1, 1, tzinfo=UTC))

    check = await SelfTest(_settings_in(tmp_path), "en", stopped).check_clock()

    assert check.level is Level.FAIL
    assert check.detail.startswith("The kiosk's clock is earlier than this software's date")
