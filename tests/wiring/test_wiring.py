"""``kiosk/wiring/``: which adapter each configuration gets, and what a missing key says."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kiosk.clock import FrozenClock
from kiosk.config import Settings, parse_settings
from kiosk.errors import CardRemoved, ConfigError
from kiosk.signing import KeySigner, verify_signature
from kiosk.sim.hsm import SoftHsm
from kiosk.sim.pki import ESTABLISHMENT, TestPki, load_establishment
from kiosk.wiring import (
    build_card_monitor,
    build_card_reader,
    build_dmp_http,
    dmp_endpoint,
    establishment_signer,
    insi_signer,
    outbox_sender_kind,
    sim_state_dir,
)
from tests import softhsm as tokens

test_pki = tokens.test_pki
softhsm = tokens.softhsm


def settings(**sections: dict[str, object]) -> Settings:
    return parse_settings(dict(sections), source="test.toml")


def test_the_outbox_sends_to_the_dmp_unless_the_feed_sink_is_asked_for() -> None:
    assert outbox_sender_kind(settings()) == "dmp"
    assert outbox_sender_kind(settings(outbox={"sender": "feed_sink"})) == "feed_sink"
    assert outbox_sender_kind(settings(outbox={"feed_sink_url": "http://x"})) == "feed_sink"
    chosen = settings(outbox={"sender": "dmp", "feed_sink_url": "http://x"})
    assert outbox_sender_kind(chosen) == "dmp"


def test_the_simulated_dmp_is_the_running_worlds_and_a_real_one_is_configured() -> None:
    world = {"dmp_url": "http://127.0.0.1:40001/dmp"}
    assert dmp_endpoint(settings(), world) == "http://127.0.0.1:40001/dmp/"
    assert dmp_endpoint(settings(), {}) == "http://127.0.0.1:8471/dmp/"
    real = settings(dmp={"kind": "http", "endpoint": "https://dmp.example/si-dmp"})
    assert dmp_endpoint(real, world) == "https://dmp.example/si-dmp/"


async def test_a_real_dmp_without_org_sign_names_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        async with establishment_signer(settings(dmp={"kind": "http"})):
            pass
    assert "dmp.sign_token" in caught.value.message("en")
    assert "dmp.sign_key" in caught.value.message("fr")
    with pytest.raises(ConfigError, match="sign_pin_file"):
        async with establishment_signer(settings(dmp={"kind": "http", "sign_token": "ORG"})):
            pass


def test_a_real_dmp_without_org_auth_cli_is_refused() -> None:
    with pytest.raises(ConfigError, match="ORG_AUTH_CLI"):
        build_dmp_http(settings(dmp={"kind": "http"}), FrozenClock())


async def test_simulation_signs_with_the_worlds_test_pki(tmp_path: Path, test_pki: TestPki) -> None:
    (tmp_path / "pki").symlink_to(test_pki.directory, target_is_directory=True)
    async with establishment_signer(settings(), state_dir=tmp_path) as signer:
        assert signer.certificate == test_pki.certificate(ESTABLISHMENT, "sign")


async def test_org_sign_from_pem_files(test_pki: TestPki) -> None:
    files = test_pki.files(ESTABLISHMENT, "sign")
    cfg = settings(
        dmp={"kind": "http", "sign_key": str(files.key), "sign_cert": str(files.certificate)}
    )
    async with establishment_signer(cfg) as signer:
        assert isinstance(signer, KeySigner)
        expected = test_pki.certificate(ESTABLISHMENT, "sign")
        assert signer.certificate == expected
        assert verify_signature(expected, b"item", signer.sign(b"item"))


async def test_org_sign_from_the_establishments_pkcs11_token(
    tmp_path: Path, softhsm: SoftHsm, test_pki: TestPki
) -> None:
    org = load_establishment()
    pin_file = tmp_path / "org.pin"
    pin_file.write_text(org.pin + "\n")
    pin_file.chmod(0o600)
    cfg = settings(
        dmp={"kind": "http", "sign_token": org.token_label, "sign_pin_file": str(pin_file)}
    )
    async with establishment_signer(cfg) as signer:
        signature = signer.sign(b"outbox item")
    assert verify_signature(test_pki.certificate(ESTABLISHMENT, "sign"), b"outbox item", signature)
    with pytest.raises(CardRemoved):  # the block's end logged out of the token
        signer.sign(b"after")


def test_a_real_insi_signs_with_the_configured_pem_files_or_says_what_is_missing(
    test_pki: TestPki, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"insi\.sign_key"):
        insi_signer(settings(insi={"kind": "http"}))
    files = test_pki.files(ESTABLISHMENT, "sign")
    signer = insi_signer(
        settings(
            insi={"kind": "http", "sign_key": str(files.key), "sign_cert": str(files.certificate)}
        )
    )
    expected = test_pki.certificate(ESTABLISHMENT, "sign")
    assert signer.certificate == expected
    assert verify_signature(expected, b"request", signer.sign(b"request"))
    damaged = tmp_path / "damaged.pem"
    damaged.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError) as caught:
        insi_signer(
            settings(
                insi={"kind": "http", "sign_key": str(damaged), "sign_cert": str(files.certificate)}
            )
        )
    assert "Cannot load the INSi signing key" in caught.value.message("en")


def _world(state_dir: Path) -> None:
    """A running world's ``world.json`` (this process stands for its PID)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "world.json").write_text(
        json.dumps({"pid": os.getpid(), "env": {"PCSCLITE_CSOCK_NAME": "/run/world/pcscd.comm"}})
    )


def test_system_pcsc_readers_stay_the_systems_while_a_world_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PCSCLITE_CSOCK_NAME", "")  # restored (or removed) after the test
    monkeypatch.delenv("PCSCLITE_CSOCK_NAME")
    _world(tmp_path / "sim")
    real = settings(cards={"kind": "pcsc"}, paths={"data_dir": str(tmp_path)})
    build_card_reader(real)
    build_card_monitor(real)
    assert "PCSCLITE_CSOCK_NAME" not in os.environ
    build_card_reader(settings(paths={"data_dir": str(tmp_path)}))  # cards.kind = "sim"
    assert os.environ["PCSCLITE_CSOCK_NAME"] == "/run/world/pcscd.comm"


def test_an_explicit_pcsc_socket_wins_over_the_worlds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PCSCLITE_CSOCK_NAME", "/run/mine.comm")
    _world(tmp_path / "elsewhere")
    build_card_reader(settings(paths={"data_dir": str(tmp_path)}), tmp_path / "elsewhere")
    assert os.environ["PCSCLITE_CSOCK_NAME"] == "/run/mine.comm"


def test_the_sim_state_directory_is_chosen_in_one_place(tmp_path: Path) -> None:
    cfg = settings(paths={"data_dir": str(tmp_path)})
    assert sim_state_dir(cfg) == (tmp_path / "sim").resolve()
    assert sim_state_dir(cfg, tmp_path / "other") == (tmp_path / "other").resolve()
