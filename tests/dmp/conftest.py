"""Fixtures of the DMP tests: the worker's PKI and SoftHSM2 tokens, the simulated DMP, a client.

Bound here once for the whole folder (``tests/softhsm.py`` explains the SoftHSM2
session fixtures). Plain data lives in ``samples.py``, golden files in ``golden.py``.
"""

from __future__ import annotations

from tests.dmp.simulated import clock, http, make_client, sim
from tests.softhsm import cps_module, pin_lock, softhsm, test_pki

__all__ = ["clock", "cps_module", "http", "make_client", "pin_lock", "sim", "softhsm", "test_pki"]
