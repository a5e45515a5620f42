"""The image's Python requirements, from `uv export` (hash-pinned) and uv.lock.

    pyreqs.py split REQUIREMENTS OUTDIR "NAME ..."   -> binary.txt, source.txt, pins.txt
    pyreqs.py sdists UV_LOCK SOURCE_TXT DESTDIR      -> the sdists, hash-checked

binary.txt keeps uv's hashes for `pip download --require-hashes` of arm64 wheels;
source.txt names the packages without an arm64 wheel (built in a chroot); pins.txt
is every requirement as name==version (with its marker) for the offline install.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
import urllib.request
from pathlib import Path


def _entries(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if re.match(r"^[A-Za-z0-9]", line)]


def split(requirements: Path, outdir: Path, no_wheel: str) -> None:
    names = {n.lower() for n in no_wheel.split()}
    binary, source, pins = [], [], []
    for entry in _entries(requirements.read_text()):
        name = re.split(r"[=<>;\s\[]", entry, maxsplit=1)[0].lower()
        pin = entry.split(" --hash")[0].strip()
        pins.append(pin)
        (source if name in names else binary).append(entry)
    (outdir / "binary.txt").write_text("\n".join(binary) + "\n")
    (outdir / "source.txt").write_text("\n".join(source) + "\n")
    (outdir / "pins.txt").write_text("\n".join(pins) + "\n")


def sdists(uv_lock: Path, source_txt: Path, dest: Path) -> None:
    wanted = {}
    for entry in _entries(source_txt.read_text()):
        name, version = entry.split(" ")[0].split(";")[0].split("==")
        wanted[name.lower()] = version
    lock = tomllib.loads(uv_lock.read_text())
    for package in lock["package"]:
        if wanted.get(package["name"]) != package["version"]:
            continue
        sdist = package["sdist"]
        algo, digest = sdist["hash"].split(":")
        target = dest / sdist["url"].rsplit("/", 1)[1]
        with urllib.request.urlopen(sdist["url"], timeout=60) as response:  # noqa: S310
            data = response.read()
        if hashlib.new(algo, data).hexdigest() != digest:
            sys.exit(f"pyreqs: {target.name}: hash mismatch with uv.lock")
        target.write_bytes(data)
        target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
        del wanted[package["name"]]
    if wanted:
        sys.exit(f"pyreqs: no sdist in uv.lock for {sorted(wanted)}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "split":
        split(Path(args[0]), Path(args[1]), args[2])
    elif command == "sdists":
        sdists(Path(args[0]), Path(args[1]), Path(args[2]))
    else:
        sys.exit(__doc__)
