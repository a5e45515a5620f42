"""Domain throughput: NIR checks and INS Data Matrix payload parses per second.

Both run on every scan and every keystroke-validated field, so they must stay far
below human and scanner latencies. Inputs are fictitious (DOMAIN.md §7); the NIR mix
holds valid numbers (mainland, Corsica, abroad, provisional) and invalid ones (key,
length, characters), and the payload mix holds canonical payloads, payloads with
``<GS>`` substitutes and payloads whose GS was dropped, as wedge scanners send them.
Each figure is the median of several timed rounds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date

from kiosk.domain.datamatrix import GS, build_payload, parse_payload
from kiosk.domain.ins import OID_INS_NIR_TEST, Ins, StrictTraits
from kiosk.domain.nir import is_valid, nir_key

ROUNDS = 7
PER_ROUND_S = 0.3


def _nirs() -> list[str]:
    bodies = [
        "2770763220829",
        "253072B073004",
        "253072A073004",
        "1840775123456",
        "1901099135042",
        "7900513055012",
        "2452067482001",
        "1629931555089",
    ]
    valid = [b + f"{nir_key(b):02d}" for b in bodies]
    valid += ["277076322082910", "2 53 07 2B 073 004 70"]
    invalid = ["253072B07300471", "25307207300470", "2530X2B07300470", "253072C07300470"]
    return valid + invalid


def _payloads() -> list[str]:
    people = [
        (
            "277076322082910",
            "De l'Estrange-Moreau",
            ["Marie", "Claire"],
            date(1977, 7, 14),
            "F",
            "63220",
        ),
        ("253072B07300470", "Orsini", ["Anne-Sophie"], date(1953, 7, 3), "F", "2B073"),
        ("190109913504290", "García López", ["José", "Luis"], date(1990, 10, 5), "M", "99135"),
    ]
    canonical = [
        build_payload(
            Ins.of(nir, OID_INS_NIR_TEST),
            StrictTraits.create(family, given, born, sex, place),
        )
        for nir, family, given, born, sex, place in people
    ]
    return (
        canonical
        + [p.replace(GS, "<GS>") for p in canonical]
        + [p.replace(GS, "") for p in canonical]
    )


def _rate(work: Callable[[str], object], inputs: Sequence[str]) -> dict[str, float]:
    """Median and spread of operations per second over ``ROUNDS`` rounds."""
    rates = []
    for _ in range(ROUNDS):
        done = 0
        started = time.perf_counter()
        elapsed = 0.0
        while elapsed < PER_ROUND_S:
            for item in inputs:
                work(item)
            done += len(inputs)
            elapsed = time.perf_counter() - started
        rates.append(done / elapsed)
    return {
        "median_per_s": round(statistics.median(rates)),
        "min_per_s": round(min(rates)),
        "max_per_s": round(max(rates)),
        "median_us_per_op": round(1e6 / statistics.median(rates), 2),
    }


def run() -> dict[str, object]:
    """Time NIR checks and payload parses; ``summary`` holds both medians."""
    nirs, payloads = _nirs(), _payloads()
    for payload in payloads:  # every input must parse: a failing parse is not a benchmark
        parse_payload(payload)
    nir = _rate(is_valid, nirs)
    parse = _rate(parse_payload, payloads)
    canonical = _rate(parse_payload, payloads[:3])
    dropped = _rate(parse_payload, payloads[6:])
    return {
        "summary": {
            "nir_check_per_s": nir["median_per_s"],
            "payload_parse_per_s": parse["median_per_s"],
        },
        "nir_check": nir | {"inputs": len(nirs)},
        "payload_parse_mixed": parse | {"inputs": len(payloads)},
        "payload_parse_canonical": canonical,
        "payload_parse_gs_dropped": dropped,
    }
