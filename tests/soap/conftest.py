"""Fixtures of the SOAP plumbing tests: the test PKI and a certificate it did not issue."""

from __future__ import annotations

from tests.pki import pki, rogue_signer

__all__ = ["pki", "rogue_signer"]
