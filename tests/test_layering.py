"""The pure core stays pure: importing it loads no UI, no device library, no network stack."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("textual", "smartcard", "pkcs11", "httpx", "lxml", "usb", "zxingcpp", "aiosqlite")


def test_domain_import_loads_no_adapter_library() -> None:
    code = (
        "import sys, pkgutil, importlib, kiosk.domain as d\n"
        "for m in pkgutil.iter_modules(d.__path__):\n"
        "    importlib.import_module('kiosk.domain.' + m.name)\n"
        f"print(','.join(sorted(n for n in {HEAVY!r} if n in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
