"""``kiosk demo`` in a real terminal (tmux): an agent types their way from CPE to printed receipt.

The demo runs in a detached tmux session of 100×30 cells; the test drives it the way
a person at the desk would (cards from "another terminal" with ``kiosk sim card``,
keys with ``tmux send-keys``) and reads the screen with ``capture-pane``. At the end
the terminal is closed: every simulator must stop, and the audit chain the session
wrote must verify.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kiosk.sim.pki import TestPki
from tests import softhsm as tokens
from tests.command_line import KIOSK

test_pki = tokens.test_pki

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux (scripts/bootstrap)")

_NOT_INHERITED = (
    "KIOSK_",
    "TEXTUAL",
    "PCSCLITE_CSOCK_NAME",
    "SOFTHSM2_CONF",
    "COLUMNS",
    "LINES",
)
"""The test worker's own settings, readers, tokens and terminal size: the demo must use its
world's, and the size of its tmux pane (Rich reads COLUMNS and LINES before the tty)."""


class Desk:
    """One tmux session running ``kiosk demo`` in ``home``, in ``mode``, of ``size`` cells."""

    def __init__(self, home: Path, mode: str = "desk", size: tuple[int, int] = (100, 30)) -> None:
        self.home = home
        self.mode = mode
        self.size = size
        self.name = f"kiosk-e2e-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        """Its own tmux server: tests in parallel must not share one (its size, its argv)."""
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}

    def start(self, redirect: str = "") -> None:
        command = (
            f"cd {self.home} && exec {KIOSK} demo --services-port 0 --mode {self.mode} {redirect}"
        )
        width, height = (str(n) for n in self.size)
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", width, "-y", height, command],
            check=True,
            env={**self.env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"},
        )

    def screen(self) -> str:
        """What the pane shows now."""
        done = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def wait(self, text: str, bound_s: float = 60) -> str:
        """The screen once it shows ``text``."""
        deadline = time.monotonic() + bound_s
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never shown; the screen was:\n{shown}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def touch(self, *keys: str) -> None:
        """Keys as a person presses them: not within a button's 0.2 s press effect."""
        time.sleep(0.3)
        self.keys(*keys)

    def kiosk(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command from "another terminal" of the same desk."""
        return subprocess.run(
            [str(KIOSK), *args],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], check=False)


def _world_processes(home: Path) -> list[str]:
    """Command lines of live processes started for this home's world."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if str(home) in argv and state != "Z":
            found.append(argv)
    return found


def _stopped_and_verified(desk: Desk) -> None:
    deadline = time.monotonic() + 30
    while _world_processes(desk.home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _world_processes(desk.home) == []  # closing the terminal stopped every simulator
    verified = desk.kiosk("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_patient_enrols_alone_at_the_self_service_kiosk_of_the_demo(
    tmp_path: Path, test_pki: TestPki
) -> None:
    """Issue 18: "The tmux end-to-end run of kiosk demo --mode self", at 50×15 cells."""
    shutil.copytree(test_pki.directory, tmp_path / "var" / "sim" / "pki")
    kiosk = Desk(tmp_path, mode="self", size=(50, 15))
    kiosk.start()
    try:
        kiosk.wait("Insérez votre carte Vitale", bound_s=120)
        assert kiosk.kiosk("sim", "card", "insert", "adult").returncode == 0
        assert "Paul MARTIN-TEST" in kiosk.wait("Qui êtes-vous ?")
        kiosk.touch("Enter")
        kiosk.wait("Votre DMP (1/3)")
        kiosk.touch("Enter")
        kiosk.wait("Votre DMP (2/3)")
        kiosk.touch("Enter")
        kiosk.wait("Votre DMP (3/3)")
        kiosk.touch("Enter")  # "J'ai lu"
        kiosk.wait("Créer votre DMP ?")
        kiosk.touch("Right", "Enter")
        kiosk.wait("Les soignants de l'hôpital")
        kiosk.touch("Right", "Enter")
        assert "Réglé sur oui" in kiosk.wait("Accès en urgence ?")
        kiosk.touch("Enter")
        kiosk.wait("Accès du SAMU")
        kiosk.touch("Enter")
        kiosk.wait("Imprimer vos codes", bound_s=90)
        kiosk.touch("Right", "Enter")
        kiosk.wait("Votre numéro de mobile")
        kiosk.keys("0", "6", "9", "0", "1", "2", "3", "4", "5", "6", "Enter")
        farewell = kiosk.wait("Votre DMP est créé. Merci !")
        assert "Reprenez votre carte Vitale" in farewell
        assert "MARTIN" not in farewell
        jobs = list((tmp_path / "var" / "sim").rglob("job-*.png"))
        assert len(jobs) == 1, jobs  # the connection details
        assert kiosk.kiosk("sim", "card", "pull", "adult").returncode == 0
        kiosk.wait("Insert your Vitale card")
    finally:
        kiosk.close()
    _stopped_and_verified(kiosk)


def test_an_agent_goes_from_cpe_to_printed_receipt_in_the_demo(
    tmp_path: Path, test_pki: TestPki
) -> None:
    shutil.copytree(test_pki.directory, tmp_path / "var" / "sim" / "pki")  # RSA is slow
    desk = Desk(tmp_path)
    desk.start()
    try:
        desk.wait("Insérez votre carte CPE", bound_s=120)
        assert desk.kiosk("sim", "card", "insert", "cpe-agent").returncode == 0
        desk.wait("Saisissez votre code porteur")
        desk.keys("1234", "Enter")
        home = desk.wait("Insérez la carte Vitale du patient")
        assert "Camille ACCUEIL-TEST" in home  # the agent, in the status bar
        assert "1234" not in home  # the PIN was masked, and is gone

        assert desk.kiosk("sim", "card", "insert", "adult").returncode == 0
        assert "23/05/1980" in desk.wait("MARTIN-TEST")  # the birth date as a date
        desk.keys("Enter")
        desk.wait("La carte Vitale et INSi concordent.")
        desk.keys("d", "q")
        desk.wait("pas de DMP")
        desk.keys("Enter")
        desk.wait("La brochure d'information a-t-elle été remise au patient ?")
        desk.keys("F5")
        desk.wait("Consentement du patient à la création de son DMP")
        desk.keys("Space", "Tab", "Space", "F5")
        desk.wait("DMP créé.")
        desk.keys("Enter")
        desk.wait("Compte web du patient (Mon espace santé)")
        desk.keys("0", "6", " ", "1", "2", " ", "3", "4", " ", "5", "6", " ", "7", "8", "Enter")
        desk.wait("Imprimer les identifiants")
        desk.keys("Enter")
        printed = desk.wait("Identifiants imprimés")
        assert "Réimprimer" in printed
        jobs = list((tmp_path / "var" / "sim").rglob("job-*.png"))
        assert len(jobs) == 1, jobs
    finally:
        desk.close()
    _stopped_and_verified(desk)


def test_the_screen_is_drawn_on_the_terminal_when_stderr_goes_to_the_journal(
    tmp_path: Path, test_pki: TestPki
) -> None:
    """The appliance's unit gives the app tty1 as stdout and the journal as stderr
    (``StandardError=journal``), and Textual draws on stderr: the screen must still reach
    the terminal, and none of it the journal."""
    shutil.copytree(test_pki.directory, tmp_path / "var" / "sim" / "pki")
    journal = tmp_path / "journal.txt"
    desk = Desk(tmp_path)
    desk.start(redirect=f"2>{journal}")
    try:
        desk.wait("Insérez votre carte CPE", bound_s=120)
    finally:
        desk.close()
    _stopped_and_verified(desk)
    assert "\x1b[" not in journal.read_text(errors="replace")
