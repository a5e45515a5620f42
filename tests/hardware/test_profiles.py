"""The profiles of hw/: every shipped one validates, a bad one is refused naming file and key."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cards.atr import CardProfiles
from kiosk.errors import ConfigError
from kiosk.hardware import HW_ROOT, KINDS, check_profile, load_kind, load_profiles
from kiosk.hardware.schema import render_schemas
from kiosk.printing.profiles import load_profile

GOOD_PRINTER = """
name = "Test printer"
width_dots = 576

[[usb]]
vendor_id = 0x04b8
product_id = 0x0202
source = "usb.ids"
"""


def _copy_hw(tmp_path: Path) -> Path:
    root = tmp_path / "hw"
    for kind in KINDS:
        shutil.copytree(HW_ROOT / kind, root / kind)
    return root


def test_every_shipped_profile_validates() -> None:
    profiles = load_profiles()
    assert len(profiles.readers) >= 10
    assert {"generic-58mm", "generic-80mm", "label-58mm"} <= set(profiles.printers)
    assert {"generic-hid-wedge", "generic-cdc-serial"} <= set(profiles.scanners)
    assert {"vitale-1", "vitale-2", "cps2ter"} <= set(profiles.cards)


def test_every_usb_entry_names_its_source() -> None:
    profiles = load_profiles()
    for kind in ("readers", "printers", "scanners"):
        for key, model in getattr(profiles, kind).items():
            for usb in model.usb:
                assert usb.source.strip(), f"{kind}/{key}"


def test_reader_ids_are_those_of_the_ccid_driver() -> None:
    """The ids and names come from libccid's Info.plist: check them when it is installed."""
    plist = Path("/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist")
    if not plist.is_file():
        pytest.skip("libccid is not installed")
    import plistlib

    data = plistlib.loads(plist.read_bytes())
    known = {
        (int(v, 16), int(p, 16)): name
        for v, p, name in zip(
            data["ifdVendorID"], data["ifdProductID"], data["ifdFriendlyName"], strict=True
        )
    }
    for key, reader in load_profiles().readers.items():
        for usb in reader.usb:
            pair = (usb.vendor_id, usb.product_id)
            assert known.get(pair) == usb.friendly_name, f"{key}: {pair[0]:04x}:{pair[1]:04x}"


def test_a_bad_profile_is_refused_naming_file_and_key_every_problem_at_once(
    tmp_path: Path,
) -> None:
    root = _copy_hw(tmp_path)
    (root / "printers" / "bad.toml").write_text(
        'name = "Bad"\nwidth_dots = 576\ncolour = "red"\n\n'
        '[[usb]]\nvendor_id = 0x1FFFF\nproduct_id = 0x0001\nsource = "x"\n\n'
        "[[usb]]\nvendor_id = 0x04b8\nproduct_id = 0x0e28\n",
        encoding="utf-8",
    )
    (root / "readers" / "worse.toml").write_text(
        'name = "Worse"\npin_pad = "yes"\n\n[[usb]]\nvendor_id = 0x08E6\nproduct_id = 0x5503\n'
        'friendly_name = "Gemalto Prox Dual USB PC Link Reader"\nsource = "plist"\n\n'
        '[[usb.slots]]\npcsc_name = "Other Reader 00 00"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_profiles(root)
    text = caught.value.message("en")
    assert "hw/printers/bad.toml: colour: unknown key" in text
    assert "hw/printers/bad.toml: usb[0].vendor_id" in text
    assert "hw/printers/bad.toml: usb[1].source: required key is missing" in text
    assert "hw/readers/worse.toml: pin_pad" in text
    assert "hw/readers/worse.toml: usb[0]: slot 'Other Reader 00 00'" in text
    assert "(5 problems)" in text
    assert caught.value.message("fr").startswith("Profils matériels invalides (5 problèmes)")


def test_unreadable_toml_and_odd_file_names_are_problems_too(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / 'we"ird.toml').write_text(GOOD_PRINTER, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_kind("printers", tmp_path)
    text = caught.value.message("en")
    assert "broken.toml: unreadable" in text
    assert 'we"ird.toml: file name' in text


def test_a_usb_pair_may_not_have_two_roles(tmp_path: Path) -> None:
    root = _copy_hw(tmp_path)
    (root / "printers" / "clash.toml").write_text(
        GOOD_PRINTER.replace("0x04b8", "0x08E6").replace("0x0202", "0x5503"), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_profiles(root)
    assert "08e6:5503 is already readers profile 'gemalto-prox-du'" in caught.value.message("en")


@given(
    vendor=st.one_of(st.integers(max_value=-1), st.integers(min_value=0x10000)),
    as_text=st.booleans(),
)
def test_a_usb_id_outside_sixteen_bits_or_as_text_is_refused(vendor: int, as_text: bool) -> None:
    data = {
        "name": "P",
        "width_dots": 384,
        "usb": [{"vendor_id": str(vendor) if as_text else vendor, "product_id": 1, "source": "s"}],
    }
    with pytest.raises(ConfigError, match=r"usb\[0\]\.vendor_id"):
        check_profile("printers", data, "p.toml")


@given(pattern=st.text(alphabet="0123456789ABCDEFabcdefxX ", min_size=1, max_size=40))
def test_the_schema_takes_the_atr_patterns_the_card_loader_parses(pattern: str) -> None:
    from kiosk.cards.atr import AtrPattern

    data = {"kind": "vitale", "patterns": [pattern]}
    try:
        AtrPattern.parse(pattern)
    except ValueError:
        with pytest.raises(ConfigError):
            check_profile("cards", data, "c.toml")
    else:
        check_profile("cards", data, "c.toml")


def test_the_existing_loaders_agree_with_the_schema(tmp_path: Path) -> None:
    for key in load_kind("printers"):
        assert load_profile(key).key == key
    assert len(CardProfiles.default().profiles) == len(load_kind("cards"))
    (tmp_path / "bad.toml").write_text(GOOD_PRINTER + "speed = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="speed: unknown key"):
        load_profile("bad", tmp_path)
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "odd.toml").write_text('kind = "vitale"\npatterns = ["3B 7"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"odd\.toml: patterns\[0\]"):
        CardProfiles.load(cards)


def test_the_committed_json_schema_is_the_generated_one() -> None:
    for name, content in render_schemas().items():
        committed = (HW_ROOT / "schema" / name).read_text(encoding="utf-8")
        assert committed == content, f"hw/schema/{name}: run `kiosk hw schema`"
        assert json.loads(content)["additionalProperties"] is False


def test_the_json_schema_names_every_key_of_the_models() -> None:
    schema = json.loads((HW_ROOT / "schema" / "reader.schema.json").read_text(encoding="utf-8"))
    assert set(schema["required"]) == {"name", "pin_pad", "usb"}
    usb = schema["$defs"]["ReaderUsb"]
    assert {"vendor_id", "product_id", "source", "friendly_name", "slots"} <= set(usb["required"])
    assert usb["properties"]["vendor_id"]["maximum"] == 0xFFFF
    assert re.search("00", json.dumps(schema))
