"""A scratch test PKI and SoftHSM2 tokens for benchmarks that sign or seal on a token."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kiosk.sim.hsm import SoftHsm, provision_tokens
from kiosk.sim.pki import TestPki, ensure_test_pki

__all__ = ["scratch_tokens"]


@contextlib.contextmanager
def scratch_tokens(prefix: str) -> Iterator[tuple[Path, TestPki, SoftHsm]]:
    """Provision in a temporary directory and export it to this process's PKCS#11 module."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        base = Path(scratch)
        pki = ensure_test_pki(base / "pki")
        hsm = provision_tokens(base / "hsm", pki)
        os.environ.update(hsm.env)  # before the PKCS#11 module is loaded in this process
        yield base, pki, hsm
