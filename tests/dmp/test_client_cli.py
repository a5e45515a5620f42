"""``kiosk dmp status`` against the simulated services over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.clock import SystemClock
from kiosk.config import load_settings
from kiosk.dmp.client import DmpClient, DmpSettings
from kiosk.dmp.transactions import ConsentStatement, CreationRequest
from kiosk.sim.pki import ESTABLISHMENT, TestPki, ensure_test_pki
from kiosk.sim.world import SimServices
from tests.command_line import invoke, served_config, unreachable_config

from .samples import AGENT, PATIENT, SOFTWARE, VITALE_TRAITS


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki
) -> Iterator[tuple[Path, SimServices]]:
    base = Path(tmp_path_factory.mktemp("cli"))
    database = base / "dmp.sqlite3"
    with served_config(base, test_pki.directory, "dmp", "/dmp", dmp_database=database) as served:
        yield served


def test_status_of_an_unknown_patient_then_of_a_created_dmp(
    served: tuple[Path, SimServices],
) -> None:
    config, _ = served
    code, out = invoke(config, "dmp", "status", PATIENT.matricule.value, "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer == {
        "nir": answer["nir"],
        "exists": False,
        "authorization": "NON_EXISTE",
        "refusal_reason": "",
        "web_account_open": None,
    }
    assert PATIENT.matricule.value not in out  # masked
    consent = ConsentStatement(SystemClock().now(), creation=True, establishment_access=True)
    _create(config, CreationRequest(PATIENT, VITALE_TRAITS, consent))
    code, out = invoke(config, "dmp", "status", PATIENT.matricule.value)
    assert code == 0
    assert "DMP exists" in out
    assert "VALIDE" in out


def _create(config: Path, request: CreationRequest) -> None:
    """Create the DMP as the admission would, with the CLI's configuration and PKI."""
    settings = load_settings(config)
    signer = ensure_test_pki(settings.paths.data_dir / "sim" / "pki").signer_for(ESTABLISHMENT)

    async def create() -> None:
        async with httpx.AsyncClient() as http:
            client = DmpClient(
                http,
                signer,
                actor=AGENT,
                software=SOFTWARE,
                clock=SystemClock(),
                settings=DmpSettings(settings.dmp.endpoint + "/", settings.dmp.sender_oid),
            )
            await client.create(request, request_id="cli-test")

    asyncio.run(create())


def test_invalid_nir_exits_1(served: tuple[Path, SimServices]) -> None:
    code, _ = invoke(served[0], "dmp", "status", "277076322082911")
    assert code == 1


def test_unreachable_dmp_exits_3(tmp_path: Path, test_pki: TestPki) -> None:
    config = unreachable_config(tmp_path, test_pki.directory, "dmp", "/dmp")
    code, message = invoke(config, "dmp", "status", PATIENT.matricule.value)
    assert code == 3
    assert "DMP" in message
