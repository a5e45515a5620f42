"""The INS Data Matrix payload the scanner tests type, send and read back (``--sample`` too)."""

from __future__ import annotations

__all__ = ["GS", "PAYLOAD"]

GS = "\x1d"
# Fictitious person under the INS test OID, NIR vector 277076322082910 (DOMAIN.md §7).
PAYLOAD = (
    "IS01" + "0" * 22 + "S1277076322082910" + "S21.2.250.1.213.1.4.10"
    + "S3MARIE ANNE" + GS + "S4ESSAI" + GS + "S5F" + "S607-07-1977" + "S763220"
)  # fmt: skip
