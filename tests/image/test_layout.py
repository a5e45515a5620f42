"""The image's disk layout, built by ``image/assemble`` with genimage on a tiny rootfs.

Issue 19: "genimage run on a small dummy rootfs to check the partition layout and
autoboot.txt". The real build (``make image``) runs the same script on the arm64
rootfs with the sizes of ``image/config.sh``; here the sizes are small so it takes a
second or two, and a rootfs without a kernel gets slots with only config.txt and
cmdline.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

IMAGE = Path(__file__).parents[2] / "image"
TOOLS = ("genimage", "mkfs.vfat", "mcopy", "mtype", "mke2fs", "debugfs", "mksquashfs", "sfdisk")

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason="genimage, mtools, dosfstools, e2fsprogs, squashfs-tools, fdisk (scripts/bootstrap)",
)

MIB = 1024 * 1024
SMALL = {"SEL_SIZE": "16M", "BOOT_SIZE": "16M", "BOOT_FAT": "16", "ROOT_SIZE": "8M"}
SMALL |= {"DATA_SIZE": "8M", "ALIGN": "1M", "ALLOW_NO_KERNEL": "1"}


def _assemble(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "rootfs"
    if not root.exists():
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "os-release").write_text('PRETTY_NAME="dummy"\n')
        (root / "usr" / "bin").mkdir(parents=True)
    out = tmp_path / name
    env = {**os.environ, **SMALL, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(
        [str(IMAGE / "assemble"), str(root), str(out)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out / "kiosk.img"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _assemble(tmp_path_factory.mktemp("image"), "out")


def _table(img: Path) -> dict[str, object]:
    done = subprocess.run(
        ["sfdisk", "--json", str(img)], capture_output=True, text=True, check=True, timeout=30
    )
    table: dict[str, object] = json.loads(done.stdout)["partitiontable"]
    return table


def _fat_file(img: Path, start_sector: int, name: str) -> str:
    done = subprocess.run(
        ["mtype", "-i", f"{img}@@{start_sector * 512}", f"::{name}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )
    return done.stdout


def _fat_label(img: Path, start_sector: int) -> str:
    done = subprocess.run(
        ["mlabel", "-s", "-i", f"{img}@@{start_sector * 512}", "::"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.split("is", 1)[1].strip()


def test_mbr_with_boot_slots_as_primaries_and_rootfs_data_as_logicals(built: Path) -> None:
    table = _table(built)
    assert table["label"] == "dos"
    assert table["id"] == "0x4b494f53"  # PARTUUIDs are 4b494f53-NN
    parts = table["partitions"]
    assert isinstance(parts, list)
    numbers = [int(p["node"].rsplit("img", 1)[1]) for p in parts]
    assert numbers == [1, 2, 3, 4, 5, 6, 7]
    types = [p["type"] for p in parts]
    # 1-3 FAT (selector, boot A, boot B), 4 extended (LBA), 5-7 Linux.
    assert types == ["e", "e", "e", "f", "83", "83", "83"]
    sizes = {n: p["size"] * 512 for n, p in zip(numbers, parts, strict=True)}
    assert sizes[1] == 16 * MIB
    assert sizes[2] == sizes[3] == 16 * MIB
    assert sizes[5] == sizes[6] == sizes[7] == 8 * MIB
    starts = [p["start"] for p in parts]
    assert all(start * 512 % MIB == 0 for start in starts)
    assert parts[0].get("bootable") is True
    # The logicals sit inside the extended partition.
    ext = parts[3]
    for logical in parts[4:]:
        assert ext["start"] < logical["start"]
        assert logical["start"] + logical["size"] <= ext["start"] + ext["size"]


def test_autoboot_txt_on_the_first_fat_selects_slots_2_and_3(built: Path) -> None:
    first = _table(built)["partitions"][0]  # type: ignore[index]
    text = _fat_file(built, first["start"], "autoboot.txt")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines == ["[all]", "tryboot_a_b=1", "boot_partition=2", "[tryboot]", "boot_partition=3"]
    assert _fat_label(built, first["start"]) == "KIOSKSEL"


def test_each_boot_slot_names_its_own_rootfs_by_partuuid(built: Path) -> None:
    parts = _table(built)["partitions"]
    for index, label, slot, root in ((1, "KBOOT_A", "A", "05"), (2, "KBOOT_B", "B", "06")):
        start = parts[index]["start"]  # type: ignore[index]
        assert _fat_label(built, start) == label
        words = set(_fat_file(built, start, "cmdline.txt").split())
        assert f"root=PARTUUID=4b494f53-{root}" in words
        assert {"ro", "rootwait", "rootfstype=squashfs", f"rauc.slot={slot}"} <= words
        assert "arm_64bit=1" in _fat_file(built, start, "config.txt").splitlines()


def test_data_partition_is_ext4_labelled_kioskdata_with_the_app_directories(built: Path) -> None:
    data = _table(built)["partitions"][6]  # type: ignore[index]
    part = built.parent / "parts" / "data.ext4"
    assert part.stat().st_size == data["size"] * 512
    with built.open("rb") as disk:
        disk.seek(data["start"] * 512)
        assert hashlib.sha256(disk.read(part.stat().st_size)).digest() == (
            hashlib.sha256(part.read_bytes()).digest()
        )
    done = subprocess.run(
        ["debugfs", "-R", "ls -p /", str(part)], capture_output=True, text=True, check=True
    )
    names = {line.split("/")[5] for line in done.stdout.splitlines() if line.count("/") >= 6}
    assert {"outbox", "audit", "records", "keys", "site", "logs"} <= names
    label = subprocess.run(
        ["e2label", str(part)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert label == "KIOSKDATA"


def test_two_runs_give_the_same_bytes(built: Path, tmp_path: Path) -> None:
    shutil.copytree(built.parents[1] / "rootfs", tmp_path / "rootfs", symlinks=True)
    again = _assemble(tmp_path, "again")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == (
        hashlib.sha256(built.read_bytes()).hexdigest()
    )
