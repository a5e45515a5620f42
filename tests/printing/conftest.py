"""Fictitious receipts and labels shared by the printing tests (DOMAIN.md §7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.domain.ins import OID_INS_NIR_TEST, Identity, IdentityStatus, Ins, StrictTraits
from kiosk.printing.ports import JobKind, PrintJob
from kiosk.printing.profiles import PrinterProfile, load_profile
from kiosk.printing.receipt import (
    ReceiptContent,
    encode_escpos,
    png_bytes,
    receipt_layout,
    render,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "receipts"
GS = "\x1d"
PORTAL = "https://www.monespacesante.fr"
PASSWORD = "K7P0QZ1L9XW3"  # fictitious: 0/O and 1/l/I on purpose
# Fictitious person under the INS test OID, NIR vector 277076322082910 (DOMAIN.md §7).
LABEL_PAYLOAD = (
    "IS01" + "0" * 22 + "S1277076322082910" + "S21.2.250.1.213.1.4.10"
    + "S3MARIE ANNE" + GS + "S4ESSAI" + GS + "S5F" + "S607-07-1977" + "S763220"
)  # fmt: skip


def receipt(lang: str = "fr") -> ReceiptContent:
    """The fictitious receipt of the reference images."""
    return ReceiptContent(
        establishment="Centre hospitalier de démonstration",
        printed_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        first_name="Marie",
        family_name="Essai",
        account_id="marie.essai.0142",
        temporary_password=PASSWORD,
        portal_url=PORTAL,
        lang=lang,
    )


def identity(status: IdentityStatus = IdentityStatus.QUAL) -> Identity:
    """The fictitious identity of the reference label."""
    return Identity(
        ins=Ins.of("277076322082910", OID_INS_NIR_TEST),
        traits=StrictTraits.create("ESSAI", "MARIE ANNE", date(1977, 7, 7), "F", "63220"),
        status=status,
    )


def receipt_job(profile: PrinterProfile, job_id: str = "job-1") -> PrintJob:
    """A receipt ready to print on ``profile``."""
    image = render(receipt_layout(receipt()), profile.width_dots)
    return PrintJob(
        job_id, JobKind.RECEIPT, encode_escpos(image, profile), png_bytes(image), profile.width_dots
    )


def differing_fraction(a: Image.Image, b: Image.Image) -> float:
    """Share of pixels that differ between two 1-bit images of the same width."""
    assert a.width == b.width
    height = max(a.height, b.height)
    pa = np.ones((height, a.width), dtype=bool)
    pb = np.ones((height, b.width), dtype=bool)
    pa[: a.height] = np.asarray(a.convert("1"), dtype=bool)
    pb[: b.height] = np.asarray(b.convert("1"), dtype=bool)
    return float((pa != pb).mean())


@pytest.fixture(scope="session")
def profile80() -> PrinterProfile:
    return load_profile("generic-80mm")


@pytest.fixture(scope="session")
def profile58() -> PrinterProfile:
    return load_profile("generic-58mm")
