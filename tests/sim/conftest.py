"""Fixtures of the simulator tests: a module's own test PKI and a desk on a fresh DMP simulator."""

from __future__ import annotations

from tests.sim.dmp_desk import desk, pki

__all__ = ["desk", "pki"]
