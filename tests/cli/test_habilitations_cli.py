"""``kiosk habilitations check``: exit 0 allowed, 3 denied, with the rule that decided.

Each case quotes the sentence of seed 001 it follows.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunKiosk


def test_a_secretary_may_not_feed_with_her_cpe(kiosk: RunKiosk) -> None:
    """Seed 001: « une secrétaire médicale ne peut pas ajouter des documents dans le DMP en
    authentification directe par carte CPE »."""
    done = kiosk("habilitations", "check", "--role", "secretary", "--mode", "direct", "TD2.1")
    assert done.returncode == 3, done.stderr
    first, rule, source = done.stdout.strip().splitlines()
    assert first.startswith("refusé : envoi de document (TD2.1)")
    assert "secretary, direct" in first
    assert "(interdiction)" in rule
    assert "ne peut pas ajouter des documents dans le DMP" in source
    assert done.stderr == ""


def test_she_may_create_the_dmp_with_it(kiosk: RunKiosk) -> None:
    """Seed 001: « La création du DMP peut être faite par tout professionnel de santé ou
    personnel d’établissement authentifié par une carte CPS/CPE »."""
    done = kiosk("habilitations", "check", "--role", "secretary", "--mode", "direct", "creation")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("autorisé : création du DMP (TD1.1)")
    assert "CPS/CPE" in done.stdout


def test_and_feed_in_indirect_mode_json(kiosk: RunKiosk) -> None:
    """Seed 001: « uniquement en authentification indirecte »."""
    done = kiosk(
        "--lang", "en", "habilitations", "check", "--json",
        "--role", "secretary", "--mode", "indirect", "submission",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["allowed"] is True
    assert data["action"] == "TD2.1"
    assert data["rule"]["effect"] == "allow"


def test_consultation_needs_an_individual_cps(kiosk: RunKiosk) -> None:
    """Seed 001: « La consultation des DMP ne peut être effectuée que par un professionnel de
    santé et nécessite l’usage d’une CPS individuelle. »"""
    doctor = kiosk(
        "--lang", "en", "habilitations", "check",
        "--profession", "10", "--role", "professional", "--mode", "direct", "TD3.2",
    )  # fmt: skip
    assert doctor.returncode == 0
    assert doctor.stdout.startswith("allowed: document retrieval (TD3.2)")
    agent = kiosk(
        "--lang", "en", "habilitations", "check", "--role", "admission", "--mode", "indirect",
        "TD3.2",
    )  # fmt: skip
    assert agent.returncode == 3
    assert "no rule allows it" in agent.stdout


def test_the_sites_own_table_is_the_one_checked(kiosk: RunKiosk, tmp_path: Path) -> None:
    table = tmp_path / "site-habilitations.toml"
    table.write_text(
        '[[rule]]\ndescription = "site: nurses only"\nprofessions = ["60"]\nroles = ["*"]\n'
        'modes = ["direct"]\nactions = ["TD2.1"]\n'
    )
    (tmp_path / "kiosk.toml").write_text(f'[dmp]\nhabilitations = "{table}"\n')
    args = ("--config", "kiosk.toml", "habilitations", "check", "--mode", "direct")
    assert kiosk(*args, "--profession", "60", "--role", "professional", "TD2.1").returncode == 0
    assert kiosk(*args, "--profession", "10", "--role", "professional", "TD2.1").returncode == 3


def test_bad_input_is_one_line_exit_1(kiosk: RunKiosk) -> None:
    done = kiosk("habilitations", "check", "--role", "secretary", "--mode", "direct", "TD9.9")
    assert done.returncode == 1
    assert done.stderr.startswith("kiosk: action DMP inconnue")
    assert "Traceback" not in done.stderr
    missing = kiosk("--config", "none.toml", "habilitations", "check", "--role", "x",
                    "--mode", "direct", "TD2.1")  # fmt: skip
    assert missing.returncode == 1
