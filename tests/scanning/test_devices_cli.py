"""``kiosk scan`` on the simulated scanner, and the hw/ data the devices rely on."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from tests.command_line import RunMain, kiosk_main, run_script
from tests.scanning.payloads import PAYLOAD

HW = Path(__file__).resolve().parents[2] / "hw"

__all__ = ["kiosk_main"]


def test_scan_prints_the_cut_read_as_rejected_then_the_whole_payload(tmp_path: Path) -> None:
    done = run_script(tmp_path, "scan", "--sample", "--count", "1", "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["event"] for e in events] == ["status", "rejected", "read"]
    assert events[1]["code"] == "INVALID_INPUT"
    assert events[2]["kind"] == "ins"
    assert events[2]["payload"] == PAYLOAD


def test_scan_text_output_shows_gs(kiosk_main: RunMain) -> None:
    args = ("--lang", "en", "scan", "--sample", "--count", "1")
    code, out, err = kiosk_main(*args)
    assert code == 0, err
    assert "cut short" in out
    assert "S21.2.250.1.213.1.4.10S3MARIE ANNE<GS>S4ESSAI<GS>S5F" in out


def test_scan_with_nothing_read_before_the_timeout_exits_2(kiosk_main: RunMain) -> None:
    code, _, err = kiosk_main("scan", "--timeout", "0.5")
    assert code == 2
    assert "Aucune lecture" in err


def test_sample_needs_the_simulated_scanner(kiosk_main: RunMain, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[scanner]\nkind = "serial"\ndevice = "/nonexistent/tty"\n')
    args = ("--config", str(config), "scan", "--sample", "--timeout", "1")
    code, _, err = kiosk_main(*args)
    assert code == 1
    assert "--sample" in err


def test_every_usb_id_of_the_profiles_has_its_udev_rule() -> None:
    rules = " ".join(p.read_text() for p in (HW / "udev").glob("*.rules")).lower()
    profiles = [*(HW / "printers").glob("*.toml"), *(HW / "scanners").glob("*.toml")]
    ids = [
        (f"{u['vendor_id']:04x}", f"{u['product_id']:04x}")
        for path in profiles
        for u in tomllib.loads(path.read_text()).get("usb", [])
    ]
    assert ids
    for vendor, product in ids:
        pattern = rf'idvendor}}=="{vendor}", attrs?{{idproduct}}=="{product}"'
        assert re.search(pattern, rules), (vendor, product)
