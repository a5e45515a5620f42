"""Install, mark good and roll back with the real RAUC on file-backed slots.

Issue 20: "`rauc bundle` + `rauc info --keyring` with the test CA (and refused with
another CA, and a tampered bundle refused); `rauc install` of a plain bundle into
file-backed slots through `rauc service` on a private D-Bus session bus, with the
tryboot backend script run against a temporary `autoboot.txt` and a recorded
`reboot`; the mark-good decision against each health outcome". The bundle is made
by `image/rauc/bundle` (what `make bundle` runs), signed by `image/rauc/test-ca`'s
key, installed by `kiosk update install` and judged by `kiosk update judge`'s code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.domain.health import Check, HealthReport, Level
from kiosk.errors import UpdateError
from kiosk.services.activity import SERVING_LOCK, Activity
from kiosk.update.history import BootHistory, Pending
from kiosk.update.rauc import Rauc
from kiosk.update.trial import judge_trial
from kiosk.update.tryboot import AUTOBOOT, Autoboot
from kiosk.wiring.selftest import CHECKS

ROOT = Path(__file__).parents[2]
RAUC_DIR = ROOT / "image" / "rauc"
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.skipif(shutil.which("rauc") is None, reason="rauc (Debian package rauc)"),
    pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="dbus-daemon"),
    pytest.mark.skipif(shutil.which("mcopy") is None, reason="mtools"),
    pytest.mark.skipif(os.geteuid() != 0, reason="rauc mounts the bundle (root)"),
]
# Each test's RAUC mounts its bundle under the test's own directory (``mountprefix``), not
# /mnt/rauc: two workers' installs once met there, and one wrote the other's image. (An
# xdist_group had been meant to keep them apart; with pytest 9.2 xdist's loadgroup no
# longer groups, pytest-dev/pytest-xdist#1386.)

CMDLINE_A = "console=tty1 root=PARTUUID=4b494f53-05 rootfstype=squashfs ro rootwait rauc.slot=A"


def _run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@dataclass
class Slots:
    """A kiosk's disk as files: two boot FATs, two roots, the selector, the data."""

    home: Path
    bundle: Path
    keyring: Path
    env: dict[str, str]

    @property
    def selector(self) -> Path:
        return self.home / "selector"

    def slot(self, name: str) -> Path:
        return self.home / "slots" / name

    def autoboot(self) -> tuple[int, int]:
        found = Autoboot.parse((self.selector / AUTOBOOT).read_text())
        return found.primary, found.tryboot

    def boot_into(self, slot: str) -> None:
        """What the firmware does: the kernel's command line names the slot."""
        (self.home / "cmdline").write_text(CMDLINE_A.replace("rauc.slot=A", f"rauc.slot={slot}"))

    def rauc(self, **overrides: object) -> Rauc:
        return Rauc(self.home / "system.conf", env=self.env, **overrides)  # type: ignore[arg-type]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _system_conf(home: Path, keyring: Path, handler: Path) -> str:
    text = (RAUC_DIR / "system.conf").read_text()
    for number, name in (("02", "bootA"), ("03", "bootB"), ("05", "rootA"), ("06", "rootB")):
        text = text.replace(f"/dev/disk/by-partuuid/4b494f53-{number}", str(home / "slots" / name))
    return (
        text.replace("[system]\n", f"[system]\nmountprefix={home / 'mnt'}\n", 1)
        .replace("bundle-formats=-plain", "bundle-formats=plain verity")
        .replace("/var/lib/kiosk/rauc", str(home / "data" / "rauc"))
        .replace("/usr/lib/kiosk/rauc-tryboot", str(handler))
        .replace("/etc/rauc/keyring.pem", str(keyring))
    )


@contextlib.contextmanager
def _session_bus(env: dict[str, str]) -> Iterator[dict[str, str]]:
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        yield {**env, "DBUS_SESSION_BUS_ADDRESS": address, "DBUS_STARTER_BUS_TYPE": "session"}
    finally:
        bus.terminate()
        bus.wait(10)
        if bus.stdout is not None:
            bus.stdout.close()


@contextlib.contextmanager
def rauc_service(slots: Slots, booted: str) -> Iterator[None]:
    """``rauc service`` on the private bus, believing ``booted`` is running."""
    slots.boot_into(booted)
    log = open(slots.home / f"service-{booted}.log", "w")  # noqa: SIM115
    service = subprocess.Popen(
        [
            "rauc",
            f"--conf={slots.home / 'system.conf'}",
            f"--override-boot-slot={booted}",
            "service",
        ],
        env={**os.environ, **slots.env},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        for _ in range(200):  # until it owns its name on the bus
            probe = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:de.pengutronix.rauc",
                ],
                env={**os.environ, **slots.env},
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            if "boolean true" in probe.stdout:
                break
            assert service.poll() is None, (slots.home / f"service-{booted}.log").read_text()
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("rauc service never took its bus name")
        yield
    finally:
        service.terminate()
        service.wait(10)
        log.close()


@pytest.fixture
def slots(tmp_path: Path) -> Iterator[Slots]:
    home = tmp_path
    parts = home / "out" / "parts"
    parts.mkdir(parents=True)
    (parts / "rootfs.squashfs").write_bytes(os.urandom(256 * 1024))
    _run("mkfs.vfat", "-C", "-n", "KBOOT_A", parts / "boot-a.vfat", "4096")
    (home / "cmdline.txt").write_text(CMDLINE_A + "\n")
    _run("mcopy", "-i", parts / "boot-a.vfat", home / "cmdline.txt", "::cmdline.txt")
    test_ca = {"VERSION": "0.2.0", "TEST_CA_DIR": str(home / "out" / "rauc-test-ca")}
    _run(RAUC_DIR / "bundle", home / "out", "plain", env={**os.environ, **test_ca})
    bundle = next((home / "out").glob("kiosk-*.raucb"))
    keyring = home / "out" / "rauc-test-ca" / "ca.pem"
    (home / "slots").mkdir()
    (home / "mnt").mkdir()  # RAUC's mount prefix, this test's own
    shutil.copy(parts / "boot-a.vfat", home / "slots" / "bootA")
    shutil.copy(parts / "rootfs.squashfs", home / "slots" / "rootA")
    for name, size in (("bootB", 4096 * 1024), ("rootB", 1024 * 1024)):
        with open(home / "slots" / name, "wb") as out:
            out.truncate(size)
    (home / "selector").mkdir()
    shutil.copy(ROOT / "image" / "autoboot.txt", home / "selector" / AUTOBOOT)
    handler = home / "rauc-tryboot"
    handler.write_text(f'#!/bin/sh\nexec {sys.executable} -m kiosk update tryboot "$@"\n')
    handler.chmod(0o755)
    (home / "system.conf").write_text(_system_conf(home, keyring, handler))
    site = home / "site.toml"
    site.write_text(
        f'[paths]\ndata_dir = "{home / "data"}"\nlog_dir = "{home / "data" / "log"}"\n'
        f'[outbox]\ndatabase = "{home / "data" / "outbox.sqlite3"}"\n'
        f'device_key = "{home / "data" / "device.key"}"\n'
    )
    env = {
        "KIOSK_SELECTOR": str(home / "selector"),
        "KIOSK_CMDLINE": str(home / "cmdline"),
        "KIOSK_RAUC_CONF": str(home / "system.conf"),
        "KIOSK_CONFIG": str(site),
        "PYTHONPATH": str(ROOT),
    }
    with _session_bus(env) as bus_env:
        yield Slots(home, bundle, keyring, bus_env)


def _kiosk(slots: Slots, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--lang", "en", "update", *args],
        env={**os.environ, **slots.env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _report(*failing: str) -> HealthReport:
    names = CHECKS
    return HealthReport(
        T0,
        tuple(Check(n, Level.FAIL if n in failing else Level.OK, f"{n} detail") for n in names),
    )


def _installed(slots: Slots) -> None:
    with rauc_service(slots, "A"):
        done = _kiosk(slots, "install", str(slots.bundle), "--no-reboot")
    assert done.returncode == 0, done.stderr
    assert "Update written to slot B" in done.stdout


def test_an_installed_bundle_waits_in_the_other_slot_for_its_trial_boot(slots: Slots) -> None:
    _installed(slots)

    written = slots.slot("rootB").read_bytes()[: 256 * 1024]
    # Digests: pytest's diff of two 256 KiB strings would take minutes to render.
    bundled = slots.slot("rootA").read_bytes()
    assert _digest(written) == _digest(bundled), "slot B holds the bundle's root"
    cmdline = _run("mtype", "-i", slots.slot("bootB"), "::cmdline.txt")
    assert "root=PARTUUID=4b494f53-06" in cmdline, "slot B's boot names slot B's root"
    assert "rauc.slot=B" in cmdline
    assert "KBOOT_B" in _run("mlabel", "-s", "-i", slots.slot("bootB"), "::")
    assert slots.autoboot() == (2, 3), "A stays committed; only the one trial boot goes to B"
    pending = BootHistory(slots.home / "data" / "update").pending()
    assert pending is not None
    assert pending.slot == "B"


@pytest.mark.parametrize(
    ("failing", "outcome"),
    [
        ((), "good"),
        (("printer",), "bad"),
        (("database",), "bad"),
        (("readers",), "bad"),
        (("insi", "dmp"), "good"),  # offline at that moment: not the new system's fault
        (("dmp",), "bad"),  # INSi answers, the DMP does not: this system's TLS or proxy
    ],
    ids=["healthy", "printer", "database", "cards", "offline", "dmp-only"],
)
def test_the_trial_slot_is_kept_only_when_healthy(
    slots: Slots, failing: tuple[str, ...], outcome: str
) -> None:
    _installed(slots)
    reboots = slots.home / "reboots"
    rauc = slots.rauc(fallback_command=("sh", "-c", f"echo plain >> {reboots}"))
    history = BootHistory(slots.home / "data" / "update")

    async def health() -> HealthReport:
        return _report(*failing)

    with rauc_service(slots, "B"):  # after reboot "0 tryboot"
        judged = asyncio.run(
            judge_trial(
                history=history,
                booted="B",
                rauc=rauc,
                health=health,
                clock=FrozenClock(T0),
                deadline_s=0,
            )
        )

    assert judged.outcome == outcome
    records = history.records()
    assert [(r.slot, r.outcome) for r in records] == [("B", outcome)]
    assert history.pending() is None
    if outcome == "good":
        assert slots.autoboot() == (3, 2), "B is committed, A the fallback"
        assert not reboots.exists()
    else:
        assert slots.autoboot() == (2, 2), "the firmware goes back to A and never tries B"
        assert reboots.read_text() == "plain\n", "a plain reboot, into A"
        assert all(name in records[0].reason for name in failing if name != "insi")


def test_a_trial_that_never_reached_its_check_is_recorded_as_a_fallback(slots: Slots) -> None:
    _installed(slots)
    history = BootHistory(slots.home / "data" / "update")

    async def never() -> HealthReport:
        raise AssertionError("no self-test on the old slot")

    judged = asyncio.run(
        judge_trial(
            history=history,
            booted="A",  # the watchdog reset the hung B: the firmware booted A
            rauc=slots.rauc(),
            health=never,
            clock=FrozenClock(T0),
        )
    )

    assert judged.outcome == "fallback"
    assert history.records()[0].outcome == "fallback"
    assert slots.autoboot() == (2, 3)


def test_the_reboot_into_the_trial_is_the_firmwares_tryboot(slots: Slots) -> None:
    calls = slots.home / "calls"
    rauc = slots.rauc(reboot_command=("sh", "-c", f'echo "$0" >> {calls}', "0 tryboot"))
    asyncio.run(rauc.reboot(trial=True))
    assert calls.read_text() == "0 tryboot\n"
    assert Rauc().reboot_command == ("systemctl", "reboot", "0 tryboot")


def test_a_bundle_is_verified_against_the_fleet_ca(slots: Slots, tmp_path: Path) -> None:
    info = asyncio.run(slots.rauc().info(slots.bundle))
    assert info.compatible == "kiosk-rpi-arm64"

    other = tmp_path / "other"
    _run(RAUC_DIR / "test-ca", other)
    conf = slots.home / "system.conf"
    foreign = tmp_path / "foreign.conf"
    foreign.write_text(conf.read_text().replace(str(slots.keyring), str(other / "ca.pem")))
    with pytest.raises(UpdateError) as refused:
        asyncio.run(Rauc(foreign, env=slots.env).info(slots.bundle))
    assert (
        "signature" in (refused.value.detail or "").lower()
        or "verif" in (refused.value.detail or "").lower()
    )

    tampered = tmp_path / "tampered.raucb"
    data = bytearray(slots.bundle.read_bytes())
    data[len(data) // 3] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(UpdateError):
        asyncio.run(slots.rauc().info(tampered))


def test_no_update_starts_while_a_patient_is_served(slots: Slots) -> None:
    desk = Activity(slots.home / "data" / SERVING_LOCK)
    desk.set(True)  # the app: an admission is open
    try:
        with rauc_service(slots, "A"):
            done = _kiosk(slots, "install", str(slots.bundle), "--no-reboot")
    finally:
        desk.set(False)

    assert done.returncode == 3
    assert "a patient is being admitted" in done.stderr
    assert slots.autoboot() == (2, 3)
    assert not any(slots.slot("rootB").read_bytes()), "slot B untouched"
    assert BootHistory(slots.home / "data" / "update").pending() is None


def test_a_stick_plugged_in_installs_its_newest_accepted_bundle(slots: Slots) -> None:
    stick = slots.home / "stick"
    stick.mkdir()
    shutil.copy(slots.bundle, stick / "kiosk-0.2.0.raucb")
    (stick / "kiosk-0.3.0.raucb").write_bytes(b"not a bundle")  # newest by name, refused

    with rauc_service(slots, "A"):
        done = _kiosk(slots, "from-usb", str(stick), "--no-reboot")

    assert done.returncode == 0, done.stderr
    assert "Update written to slot B" in done.stdout
    pending = BootHistory(slots.home / "data" / "update").pending()
    assert pending is not None
    assert pending.version == "0.2.0"
    assert slots.autoboot() == (2, 3)


def test_a_torn_pending_file_counts_as_no_update(tmp_path: Path) -> None:
    history = BootHistory(tmp_path)
    history.set_pending(Pending("B", "0.2.0", T0.isoformat()))
    (tmp_path / "pending.json").write_text('{"slot": "B", "vers')
    assert history.pending() is None
