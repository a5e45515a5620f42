"""RAUC's custom backend over the Pi firmware's tryboot, on a temporary ``autoboot.txt``.

ARCHITECTURE.md §10: "use `bootloader=custom` with a script over the firmware's
`tryboot` (`autoboot.txt` with `tryboot_a_b=1`, one boot partition per slot,
`reboot "0 tryboot"`). The firmware tries once: the hardware watchdog turns a hung
boot into a fallback. Mark good only after the selftest passes."
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import InvalidInput
from kiosk.update.tryboot import AUTOBOOT, Autoboot, Selector, booted_slot

IMAGE_AUTOBOOT = Path(__file__).parents[2] / "image" / "autoboot.txt"


@pytest.fixture
def selector_dir(tmp_path: Path) -> Path:
    (tmp_path / AUTOBOOT).write_text(IMAGE_AUTOBOOT.read_text())
    return tmp_path


def _autoboot(root: Path) -> tuple[int, int]:
    found = Autoboot.parse((root / AUTOBOOT).read_text())
    return found.primary, found.tryboot


def test_the_image_boots_slot_a_and_tries_b(selector_dir: Path) -> None:
    assert _autoboot(selector_dir) == (2, 3)
    assert Selector(selector_dir, "A").run(["get-primary"]) == "A"


def test_an_install_points_only_the_trial_boot_at_the_new_slot(selector_dir: Path) -> None:
    running_a = Selector(selector_dir, "A")

    running_a.run(["set-state", "B", "bad"])  # what RAUC does before writing B
    running_a.run(["set-primary", "B"])  # and after

    assert _autoboot(selector_dir) == (2, 3), "A stays committed: a hung B falls back to it"
    assert running_a.run(["get-primary"]) == "A"
    assert running_a.run(["get-state", "B"]) == "bad"


def test_a_healthy_trial_slot_is_committed_when_marked_good(selector_dir: Path) -> None:
    Selector(selector_dir, "A").run(["set-state", "B", "bad"])
    Selector(selector_dir, "A").run(["set-primary", "B"])
    running_b = Selector(selector_dir, "B")  # after reboot "0 tryboot"

    running_b.run(["set-state", "B", "good"])

    assert _autoboot(selector_dir) == (3, 2), "B boots from now on; A is the next trial"
    assert running_b.run(["get-primary"]) == "B"
    assert running_b.run(["get-state", "B"]) == "good"


def test_a_trial_slot_marked_bad_is_never_booted_again(selector_dir: Path) -> None:
    Selector(selector_dir, "A").run(["set-state", "B", "bad"])
    Selector(selector_dir, "A").run(["set-primary", "B"])

    Selector(selector_dir, "B").run(["set-state", "B", "bad"])

    assert _autoboot(selector_dir) == (2, 2), "even a stray tryboot boots A"


def test_marking_good_a_slot_that_is_not_running_commits_nothing(selector_dir: Path) -> None:
    Selector(selector_dir, "A").run(["set-primary", "B"])

    Selector(selector_dir, "A").run(["set-state", "B", "good"])

    assert _autoboot(selector_dir) == (2, 3), "only a slot that booted may be committed"


def test_other_lines_of_autoboot_are_kept(selector_dir: Path) -> None:
    path = selector_dir / AUTOBOOT
    path.write_text("# written by the image\n" + path.read_text() + "[pi5]\nboot_delay=1\n")
    Selector(selector_dir, "A").run(["set-primary", "B"])
    Selector(selector_dir, "B").run(["set-state", "B", "good"])

    text = path.read_text()
    assert text.startswith("# written by the image\n[all]\ntryboot_a_b=1\nboot_partition=3\n")
    assert "[pi5]\nboot_delay=1\n" in text


@pytest.mark.parametrize(
    "args",
    [["set-primary", "C"], ["set-state", "A", "maybe"], ["reboot"], ["get-state"]],
)
def test_a_call_outside_the_protocol_is_refused(selector_dir: Path, args: list[str]) -> None:
    with pytest.raises(InvalidInput):
        Selector(selector_dir, "A").run(args)
    assert _autoboot(selector_dir) == (2, 3)


def test_a_selector_without_both_boot_partitions_is_refused(tmp_path: Path) -> None:
    (tmp_path / AUTOBOOT).write_text("[all]\ntryboot_a_b=1\nboot_partition=2\n")
    with pytest.raises(InvalidInput):
        Selector(tmp_path, "A").run(["get-primary"])


_LINE = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "Zs")), max_size=30
)


@given(
    before=st.lists(_LINE.filter(lambda s: "[" not in s and "boot_partition" not in s), max_size=4),
    primary=st.sampled_from([2, 3]),
    tryboot=st.sampled_from([2, 3]),
)
def test_render_then_parse_gives_back_the_partitions(
    before: list[str], primary: int, tryboot: int
) -> None:
    text = "\n".join(
        [*before, "[all]", "tryboot_a_b=1", "boot_partition=2", "[tryboot]", "boot_partition=3"]
    )
    changed = Autoboot(primary, tryboot, Autoboot.parse(text).lines)
    again = Autoboot.parse(changed.render())
    assert (again.primary, again.tryboot) == (primary, tryboot)
    assert changed.render().splitlines()[: len(before)] == before


def test_the_booted_slot_comes_from_the_kernel_command_line() -> None:
    line = "console=tty1 root=PARTUUID=4b494f53-06 rootfstype=squashfs ro rauc.slot=B quiet"
    assert booted_slot(line) == "B"
    assert booted_slot("console=tty1 root=/dev/vda") is None
