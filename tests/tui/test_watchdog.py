"""The app under systemd: READY once its first screen is up, the watchdog fed while healthy.

The unit is ``Type=notify`` with ``WatchdogSec=30`` (``firmware_cfg/systemd/kiosk.service``);
here a real ``AF_UNIX`` datagram socket stands for systemd's, named in the environment
the app is given, as systemd names it in ``$NOTIFY_SOCKET``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.notify import Notifier
from kiosk.tui.app import KioskApp
from kiosk.wiring import Services
from tests import softhsm as tokens
from tests.desk import desk_services, sim_world

__all__ = ["desk_services", "sim_world"]  # fixtures, used by name

test_pki = tokens.test_pki


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket where systemd's would be."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.setblocking(False)
        yield sock


async def _message(sock: socket.socket, bound_s: float = 10) -> str:
    loop = asyncio.get_running_loop()
    data = await asyncio.wait_for(loop.sock_recv(sock, 4096), bound_s)
    return data.decode()


def _drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


async def test_the_app_says_ready_feeds_the_watchdog_and_stops_feeding_when_unhealthy(
    desk_services: Services, systemd: socket.socket, tmp_path: Path
) -> None:
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "30000000"}
    app = KioskApp(desk_services, notifier=Notifier(environ))
    async with app.run_test(size=(100, 30)):
        assert await _message(systemd) == "READY=1\nSTATUS=desk mode"
        app.feed_watchdog()  # what the app's 15 s interval calls
        assert await _message(systemd) == "WATCHDOG=1"

        for worker in app.workers:
            if worker.group == "cards":
                worker.cancel()  # the card watcher dies: the kiosk can no longer see cards
        await asyncio.sleep(0)
        app.feed_watchdog()
        said = _drain(systemd)
        assert "WATCHDOG=1" not in said
        assert said == ["STATUS=the card watcher stopped"]
    assert "STOPPING=1" in _drain(systemd)


def test_without_systemd_nothing_is_sent_and_an_abstract_socket_is_understood() -> None:
    assert not Notifier({}).enabled
    assert not Notifier({}).ready("desk mode")
    assert Notifier({"NOTIFY_SOCKET": "@/org/freedesktop/systemd1/notify"}).enabled
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_s == 30.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_s is None
