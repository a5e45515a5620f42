"""``kiosk print …`` as an operator runs it: sample pages through the simulated printer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.command_line import RunMain, kiosk_main, run_script
from tests.printing.conftest import LABEL_PAYLOAD, PORTAL

__all__ = ["kiosk_main"]


def _symbols(path: Path) -> list[bytes]:
    with Image.open(path) as image:
        found = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return [b.bytes for b in found]


def test_sample_receipt_prints_on_the_simulator_and_its_qr_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "receipt.png"
    done = run_script(tmp_path, "print", "receipt", "--sample", "--json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["printed"] is True
    assert report["kind"] == "receipt"
    assert report["width_dots"] == 576
    assert "simulated" in report["printer"]
    assert _symbols(out) == [PORTAL.encode()]
    assert "K7P0" not in done.stdout  # the password is printed, never echoed


def test_sample_label_on_58mm_carries_the_exact_ins_payload(
    kiosk_main: RunMain, tmp_path: Path
) -> None:
    out = tmp_path / "label.png"
    args = ("print", "label", "--sample", "--profile", "label-58mm", "-o", str(out))
    code, _, err = kiosk_main(*args)
    assert code == 0, err
    with Image.open(out) as image:
        assert image.width == 384
    assert _symbols(out) == [LABEL_PAYLOAD.encode()]


def test_test_page_names_the_printer(kiosk_main: RunMain) -> None:
    args = ("--lang", "en", "print", "test", "--profile", "generic-58mm")
    code, out, err = kiosk_main(*args)
    assert code == 0, err
    assert "Printed on tcp://127.0.0.1:" in out


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("print", "receipt"), 1, "--sample"),
        (("print", "last", "--reprint"), 3, "session"),
        (("print", "test", "--profile", "nope"), 1, "generic-80mm"),
    ],
)
def test_refusals_are_one_clear_line_with_the_right_exit_code(
    kiosk_main: RunMain, args: tuple[str, ...], code: int, words: str
) -> None:
    exit_code, _, err = kiosk_main(*args)
    assert exit_code == code
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_an_unreachable_network_printer_exits_3(kiosk_main: RunMain, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = 1\n')
    code, _, err = kiosk_main("--config", str(config), "print", "test")
    assert code == 3
    assert "injoignable" in err


def test_driving_the_simulated_printer_without_a_world_says_so(kiosk_main: RunMain) -> None:
    code, _, err = kiosk_main("sim", "printer", "paper-out")
    assert code == 2
    assert "kiosk demo" in err


def test_status_of_the_simulated_printer_reads_as_words(kiosk_main: RunMain) -> None:
    code, out, err = kiosk_main("--lang", "en", "print", "status")
    assert code == 0, err
    assert "online, paper ok, cover closed" in out
