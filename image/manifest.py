"""The rootfs's file list, one line a path: type, mode, owner, size, SHA-256 (or link target).

    manifest.py ROOTFS > rootfs.files

Sorted by path and free of timestamps, so two builds of the same inputs give the same
text; image/check-reproducible diffs two of these.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path


def lines(root: Path) -> list[str]:
    out = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            path = Path(directory, name)
            rel = "/" + str(path.relative_to(root))
            st = path.lstat()
            mode = f"{stat.S_IMODE(st.st_mode):04o} {st.st_uid}:{st.st_gid}"
            if stat.S_ISLNK(st.st_mode):
                out.append(f"{rel} l {mode} -> {os.readlink(path)}")
            elif stat.S_ISDIR(st.st_mode):
                out.append(f"{rel} d {mode}")
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out.append(f"{rel} f {mode} {st.st_size} {digest}")
            else:
                out.append(f"{rel} {oct(stat.S_IFMT(st.st_mode))} {mode}")
    return sorted(out)


if __name__ == "__main__":
    sys.stdout.write("\n".join(lines(Path(sys.argv[1]))) + "\n")
