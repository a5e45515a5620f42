"""Receipt render cost: layout → PNG + ESC/POS per receipt, and bytes sent, at 58 and 80 mm.

Target (issue 9): ≤ 25 ms per receipt on the development machine. Each timed round
renders a fresh receipt (new password, so nothing is cached) into both outputs.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime

from kiosk.printing.profiles import load_profile
from kiosk.printing.receipt import (
    ReceiptContent,
    encode_escpos,
    png_bytes,
    receipt_layout,
    render,
)

ROUNDS = 200
WARMUP = 10


def _content(n: int) -> ReceiptContent:
    # Fictitious patient and credentials (DOMAIN.md §7).
    return ReceiptContent(
        establishment="Centre hospitalier de démonstration",
        printed_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        first_name="Marie",
        family_name="Essai",
        account_id=f"marie.essai.{n:04d}",
        temporary_password=f"K7P0QZ1L{n:04d}",
        portal_url="https://www.monespacesante.fr",
    )


def _one(profile_name: str) -> dict[str, float | int]:
    profile = load_profile(profile_name)
    times: list[float] = []
    cpu: list[float] = []
    steps: dict[str, list[float]] = {"render": [], "png": [], "escpos": []}
    sizes: list[int] = []
    png_sizes: list[int] = []
    for n in range(WARMUP + ROUNDS):
        c0 = time.process_time()
        t0 = time.perf_counter()
        image = render(receipt_layout(_content(n)), profile.width_dots)
        t1 = time.perf_counter()
        png = png_bytes(image)
        t2 = time.perf_counter()
        data = encode_escpos(image, profile)
        t3 = time.perf_counter()
        c3 = time.process_time()
        if n >= WARMUP:
            times.append((t3 - t0) * 1000)
            cpu.append((c3 - c0) * 1000)
            for name, spent in (("render", t1 - t0), ("png", t2 - t1), ("escpos", t3 - t2)):
                steps[name].append(spent * 1000)
            sizes.append(len(data))
            png_sizes.append(len(png))
    times.sort()
    return {
        **{f"{name}_median_ms": round(statistics.median(v), 2) for name, v in steps.items()},
        "rounds": ROUNDS,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * len(times)) - 1], 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "max_ms": round(times[-1], 2),
        "escpos_bytes": int(statistics.median(sizes)),
        "png_bytes": int(statistics.median(png_sizes)),
    }


def run() -> dict[str, object]:
    """Time both paper widths; the summary says whether the 25 ms target holds."""
    results = {"58mm": _one("generic-58mm"), "80mm": _one("generic-80mm")}
    summary = {
        f"{width}_{key}": value[key]
        for width, value in results.items()
        for key in ("median_ms", "p95_ms", "cpu_median_ms", "escpos_bytes")
    }
    summary["target_ms"] = 25
    summary["load_avg_1min"] = round(os.getloadavg()[0], 2)  # other work on the machine
    summary["within_target"] = all(float(v["p95_ms"]) <= 25 for v in results.values())
    return {"summary": summary, **results}
