"""``kiosk insi search|verify`` against the simulated services over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.sim.pki import TestPki
from tests.command_line import invoke, served_config, unreachable_config


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[Path]:
    """A config file whose INSi endpoint is a live simulator on an ephemeral port.

    The server runs in a thread of this process (``tests/insi/test_sim_serve.py`` covers
    ``kiosk sim serve`` as a child process); the CLI runs its own event loop.
    """
    base = Path(tmp_path_factory.mktemp("cli"))
    with served_config(base, pki.directory, "insi", "/insi/") as (config, _):
        yield config


TRAITS = ["--family", "Roche-Test", "--given", "Paul", "--sex", "M", "--birth-date", "1965-11-30"]


def test_search_prints_the_identity_with_a_masked_ins(served: Path) -> None:
    code, out = invoke(served, "insi", "search", *TRAITS)
    assert code == 0
    assert "1 ** ** ** *** *** 33" in out
    assert "165119913401233" not in out
    assert "history" in out


def test_search_json_then_verify_with_the_returned_ins(served: Path) -> None:
    code, out = invoke(served, "insi", "search", *TRAITS, "--json")
    assert code == 0
    found = json.loads(out)["identity"]
    assert found["history"] == [{"ins": "765119913401224", "oid": "1.2.250.1.213.1.4.10"}]
    code, out = invoke(served, "insi", "verify", "--ins", found["ins"], *TRAITS, "--json")
    assert code == 0
    assert json.loads(out)["code"] == "00"
    code, out = invoke(served, "insi", "verify", "--ins", "765119913401224", *TRAITS)
    assert code == 2


def test_several_identities_exit_2_and_ask_to_refine(served: Path) -> None:
    args = ["--family", "GARNIER-TEST", "--given", "MARIE", "--sex", "F"]
    code, out = invoke(served, "insi", "search", *args, "--birth-date", "1990-01-01")
    assert code == 2
    assert "refine" in out


def test_bad_input_is_refused_before_any_call(served: Path) -> None:
    code, message = invoke(served, "insi", "search", *TRAITS[:-1], "1965-13-30")
    assert code == 1
    assert "birth date" in message


def test_a_service_that_is_down_exits_3(tmp_path: Path, pki: TestPki) -> None:
    config = unreachable_config(tmp_path, pki.directory, "insi", "/insi")
    code, message = invoke(config, "insi", "search", *TRAITS)
    assert code == 3
    assert "unavailable" in message


def test_a_fault_injected_from_the_cli_reaches_the_next_search(served: Path) -> None:
    code, out = invoke(served, "sim", "insi-fault", "http500", "--json")
    assert code == 0
    assert json.loads(out) == {"queued": ["http500"]}
    code, message = invoke(served, "insi", "search", *TRAITS)
    assert code == 3
    assert "HTTP error 503" in message
    code, _ = invoke(served, "insi", "search", *TRAITS)
    assert code == 0
