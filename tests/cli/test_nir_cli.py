"""``kiosk nir check``: valid NIRs are masked, invalid ones say why, exit codes per §12."""

from __future__ import annotations

import json

from tests.cli.conftest import RunKiosk


def test_valid_corsican_nir_is_masked_by_default(kiosk: RunKiosk) -> None:
    done = kiosk("nir", "check", "253072B07300470")
    assert done.returncode == 0, done.stderr
    assert "2 53 07 2B" in done.stdout
    assert "073004" not in done.stdout


def test_show_prints_the_whole_nir(kiosk: RunKiosk) -> None:
    done = kiosk("nir", "check", "--show", "277076322082910")
    assert done.returncode == 0
    assert "277076322082910" in done.stdout


def test_wrong_key_exits_1_with_one_line_and_no_traceback(kiosk: RunKiosk) -> None:
    done = kiosk("nir", "check", "277076322082911")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("kiosk: ")


def test_json_output(kiosk: RunKiosk) -> None:
    good = json.loads(kiosk("nir", "check", "--json", "253072A07300443").stdout)
    assert good["valid"] is True
    assert good["key"] == "43"
    bad = kiosk("nir", "check", "--json", "25307")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["valid"] is False


def test_english_messages(kiosk: RunKiosk) -> None:
    done = kiosk("--lang", "en", "nir", "check", "12345")
    assert done.returncode == 1
    assert done.stderr.startswith("kiosk: ")
