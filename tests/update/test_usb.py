"""Updates from a USB stick: which bundle of the stick, and never an older one."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kiosk.update.usb import bundles_on, newer
from tests.command_line import run_script


def test_the_newest_bundle_of_the_top_folder_is_offered_first(tmp_path: Path) -> None:
    for name in (
        "kiosk-0.9.0.raucb",
        "kiosk-0.10.0.raucb",
        "notes.txt",
        "kiosk-0.10.0.raucb.sha256",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "kiosk-9.9.9.raucb").write_bytes(b"x")

    found = bundles_on(tmp_path)

    assert [version for version, _ in found] == ["0.10.0", "0.9.0"], "0.10 after 0.9"


@given(
    a=st.tuples(*(st.integers(0, 30),) * 3),
    b=st.tuples(*(st.integers(0, 30),) * 3),
)
def test_newer_orders_versions_as_numbers(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    text_a, text_b = (".".join(map(str, v)) for v in (a, b))
    assert newer(text_a, text_b) == (a > b)


def test_a_stick_with_nothing_newer_is_left_alone(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "kiosk-0.1.0.raucb").write_bytes(b"the version running now")

    done = run_script(tmp_path, "--lang", "en", "update", "from-usb", str(stick), "--no-reboot")

    assert done.returncode == 0, done.stderr
    assert "No bundle newer than version 0.1.0" in done.stdout
