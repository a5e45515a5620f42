"""vpcd with card events: build ``vpcd_events.c`` once and give each reader its copy.

The simulated reader should report a pulled card as fast as the appliance's CCID reader
does (its interrupt endpoint signals a slot change at once), not 0-400 ms late as
stock vpcd under pcscd's fixed presence poll does. ``vpcd_events.c`` wraps Debian's
driver with the polling thread pcscd asks drivers for (see its header).

The wrapper is compiled with the system's C compiler against ``libpcsclite-dev``
(both installed by ``scripts/bootstrap``) into the user's cache, named by the hash of
its source, so a changed source is rebuilt and concurrent test workers share one
build (written to a temporary name, then renamed). Without a compiler the simulated
desk still works on the stock driver, with a warning in the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["EVENT_POLL_MS", "SOURCE", "build", "install"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("vpcd_events.c")
EVENT_POLL_MS = 20
"""How often the wrapper looks at a slot while pcscd waits (``EVENT_POLL_MS`` in C)."""
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I/usr/include/PCSC")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kiosk"


def build(cache: Path | None = None) -> Path | None:
    """The compiled wrapper (built if its source changed), or ``None`` if it cannot be."""
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + " ".join(CFLAGS).encode()).hexdigest()[:16]
    cache = cache or _cache_dir()
    target = cache / f"vpcd-events-{digest}.so"
    if target.exists():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.warning("vpcd-events: no C compiler; the simulated reader polls every 400 ms")
        return None
    cache.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=cache, prefix=".vpcd-events-", suffix=".so")
    os.close(fd)
    try:
        done = subprocess.run(
            [compiler, *CFLAGS, "-o", partial, str(SOURCE), "-ldl", "-lpthread"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            log.warning(
                "vpcd-events: build failed (%s); the simulated reader polls every 400 ms",
                done.stderr.strip().splitlines()[-1:] or done.returncode,
            )
            return None
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return target


def install(directory: Path, index: int, driver: Path) -> Path | None:
    """Reader ``index``'s own copy of the wrapper and of ``driver`` in ``directory``.

    Returns the path for ``LIBPATH``, or ``None`` when the wrapper cannot be built.
    """
    wrapper = build()
    if wrapper is None:
        return None
    copy = directory / f"vpcd-events-{index}-{wrapper.stem.rsplit('-', 1)[1]}.so"
    if not copy.exists():  # a restarted daemon keeps its files; never rewrite a mapped one
        inner = copy.with_name(copy.name + ".driver")
        shutil.copyfile(driver.resolve(), inner)
        shutil.copyfile(wrapper, copy)
    return copy
