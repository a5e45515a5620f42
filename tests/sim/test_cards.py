"""The virtual cards and the simulated desk, from outside: files, control socket, PC/SC client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from kiosk.errors import NotFound, Unavailable
from kiosk.sim.cards.desk import CardDesk, ControlServer, control_request
from kiosk.sim.cards.pcscd import PcscDaemon
from kiosk.sim.cards.virtual import VitaleLogic, card_names, load_card


def test_every_fixture_card_loads_and_uses_valid_test_nirs() -> None:
    from kiosk.domain.vitale import parse_beneficiaries

    assert {"adult", "family", "cpe-agent", "unknown"} <= set(card_names())
    for name in card_names():
        spec = load_card(name)
        for fid, content in spec.files.items():
            if fid >= 0x2004 and name in ("adult", "family", "corsica"):
                assert parse_beneficiaries(content, file=f"{fid:04X}")


def test_unknown_card_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFound, match="family"):
        load_card("nobody")


def test_cpe_serial_comes_from_the_professionals_fixture() -> None:
    assert load_card("cpe-agent").serial == "0123456789"


def test_read_binary_follows_the_documented_stop_rules() -> None:
    card = VitaleLogic(load_card("family"))
    assert card.respond(bytes.fromhex("00B0000000")) == b"\x69\x86"  # nothing selected
    assert (
        card.respond(bytes.fromhex("00A404000B") + bytes.fromhex("D250000002564954414C45"))[-2:]
        == b"\x90\x00"
    )
    assert card.respond(bytes.fromhex("00A4020C022001")) == b"\x90\x00"  # P2 0C accepted
    first = card.respond(bytes.fromhex("00B0000000"))
    assert first.endswith(b"\x62\x82")  # shorter than asked: end reached
    assert card.respond(bytes.fromhex("00B0100000")) == b"\x6b\x00"  # beyond the end
    assert card.respond(bytes.fromhex("00A40200024242")) == b"\x6a\x82"


@pytest.fixture
def desk_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    state = tmp_path / "sim" / "cards"  # where the demo's component puts it
    state.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.sim.cards.desk", "serve", "--state-dir", str(state)]
    )
    deadline = time.monotonic() + 30
    while not (state / "cards.json").exists():
        assert proc.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield proc, state
    proc.terminate()
    proc.wait(10)


def _slots_seen_by_a_client(state: Path) -> list[dict[str, object]]:
    # PCSCLITE_CSOCK_NAME is read once per process: ask a fresh client process.
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(state / "pcscd" / "run" / "pcscd.comm")}
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "cards", "list", "--json"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    readers: list[dict[str, object]] = json.loads(out)["readers"]
    return readers


def test_desk_process_serves_insert_pull_list_and_a_private_pcscd(
    desk_process: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, state = desk_process
    sock = state / "cards.sock"
    reply = control_request(sock, {"op": "insert", "card": "family"})
    assert reply["ok"]
    assert reply["slots"][0]["card"] == "family"
    deadline = time.monotonic() + 15
    while not (seen := _slots_seen_by_a_client(state))[0]["card"]:
        assert time.monotonic() < deadline
    assert seen[0]["kind"] == "vitale"
    assert "beneficiaries" not in seen[0]
    busy = control_request(sock, {"op": "insert", "card": "adult", "reader": seen[0]["reader"]})
    assert busy["ok"] is False
    assert busy["code"] == "INVALID_INPUT"
    assert control_request(sock, {"op": "pull", "card": "family"})["slots"][0]["card"] is None
    missing = control_request(sock, {"op": "pull", "card": "family"})
    assert missing["code"] == "NOT_FOUND"
    proc.terminate()
    proc.wait(10)
    with pytest.raises(Unavailable):
        control_request(sock, {"op": "list"})


def test_daemon_restart_keeps_ports_and_stop_is_by_pid(tmp_path: Path) -> None:
    daemon = PcscDaemon(tmp_path / "d")
    daemon.start()
    try:
        ports, pid = dict(daemon.slots), daemon.pid
        assert daemon.socket_path.exists()
        daemon.restart()
        assert daemon.slots == ports
        assert daemon.pid != pid
    finally:
        daemon.stop()
    assert daemon.pid is None
    assert not daemon.socket_path.exists()


def test_control_server_rejects_unknown_operations(tmp_path: Path) -> None:
    desk = CardDesk(PcscDaemon(tmp_path))
    server = ControlServer(desk, tmp_path / "c.sock")
    try:
        assert server.handle(b'{"op": "dance"}')["code"] == "INVALID_INPUT"
        assert server.handle(b"not json")["ok"] is False
    finally:
        server.close()


def test_sim_card_cli_drives_the_desk(
    desk_process: tuple[subprocess.Popen[bytes], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.cli import main

    _, state = desk_process
    root = str(state.parent)
    with pytest.raises(SystemExit) as info:
        main(["sim", "card", "insert", "cps-doctor", "--state-dir", root, "--json"])
    assert info.value.code == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["slots"][1]["card"] == "cps-doctor"  # a professional card goes to slot 2
    with pytest.raises(SystemExit) as info:
        main(["--lang", "en", "sim", "card", "pull", "adult", "--state-dir", root])
    assert info.value.code == 2
    assert "not inserted" in capsys.readouterr().err


def test_world_component_publishes_the_socket_and_stops_everything(tmp_path: Path) -> None:
    from kiosk.sim.cards.desk import CardDeskComponent
    from kiosk.sim.world import SimWorld

    world = SimWorld(state_dir=tmp_path / "w", components=[CardDeskComponent()])
    with world.running():
        assert world.env["PCSCLITE_CSOCK_NAME"].endswith("pcscd.comm")
        assert Path(world.env["PCSCLITE_CSOCK_NAME"]).exists()
        assert "kiosk sim card insert" in "\n".join(world.describe())
        pids = [p.pid for p in world.processes]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not Path(world.env["PCSCLITE_CSOCK_NAME"]).exists()  # pcscd went with its group


def test_a_user_without_root_gets_private_readers_in_a_user_namespace() -> None:
    """`make demo` and `make test` by a sudo user, not root: the daemon runs as that user."""
    # A directory the unprivileged user can reach (the test's tmp_path is root's 0700).
    directory = Path(tempfile.mkdtemp(prefix="kiosk-nonroot-", dir="/tmp"))
    directory.chmod(0o777)

    # Run as root (CI), the daemon is started as nobody; run by a user, as that user.
    user = 65534 if os.geteuid() == 0 else os.geteuid()

    def as_user(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        drop = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"]
        return subprocess.Popen(
            [*(drop if os.geteuid() == 0 else []), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env, "PATH": "/usr/local/bin:/usr/bin:/bin"},  # a user's
            start_new_session=True,
        )

    daemon = PcscDaemon(directory / "d", spawner=as_user, user_namespace=True)
    (directory / "d" / "run").mkdir(parents=True)  # where the daemon, not root, writes
    (directory / "d" / "run").chmod(0o777)
    try:
        daemon.start()
        assert daemon.pid is not None
        status = Path(f"/proc/{daemon.pid}/status").read_text()
        assert f"Uid:\t{user}\t" in status  # not root outside its namespace
        listed = subprocess.run(
            [sys.executable, "-c", "from smartcard.System import readers; print(readers())"],
            env={**os.environ, **daemon.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert all(name in listed for name in daemon.slots)
    finally:
        daemon.stop()
        shutil.rmtree(directory, ignore_errors=True)
