"""The outbox's device key: AES-256-GCM on a PKCS#11 token (SoftHSM2) versus the 0600 file.

Why it matters (issue 8, ARCHITECTURE.md §6): every enqueue seals its payload and every
send opens it. :class:`kiosk.outbox.keys.TokenDeviceKey` makes one ``C_EncryptInit`` +
``C_Encrypt`` (or decrypt) per call through ``kiosk/cards/pkcs11/``, serialised by the
library's lock; :class:`kiosk.outbox.keys.FileDeviceKey` runs ``cryptography``'s AESGCM in
process. Measured per 4 KiB payload: seal and open with each key, a refused (altered)
payload on the token, then the durable
enqueue (seal + RSA-2048 signature + SQLite FULL commit) with each, and the token
login paid once at start. SoftHSM2 is a floor: a USB HSM or a TPM answers in
milliseconds, which the enqueue figure shows how to weigh.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.timing import times_ms

ROUNDS = 1000
ENQUEUES = 300
LOGIN_ROUNDS = 10
PAYLOAD = os.urandom(4096)
AAD = b"0190f000-0000-7000-8000-000000000000\x1fdmp.submit\x1fdmp.submit:0123456789abcdef"


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
        "min_ms": round(ordered[0], 4),
        "n": len(ordered),
    }


def _refused(key: Any, sealed: bytes) -> Callable[[], None]:
    from kiosk.outbox.ports import PayloadTampered

    def attempt() -> None:
        try:
            key.open(sealed, AAD)
        except PayloadTampered:
            return
        raise AssertionError("a flipped byte opened")

    return attempt


def _flipped(sealed: bytes) -> bytes:
    changed = bytearray(sealed)
    changed[-1] ^= 0x01
    return bytes(changed)


async def _enqueue_ms(base: Path, keys: dict[str, Any], signer: Any) -> dict[str, list[float]]:
    """Durable enqueues into one store per key, interleaved so both see the same load."""
    from kiosk.clock import SystemClock
    from kiosk.outbox.store import OutboxStore

    stores = {
        name: await OutboxStore.open(base / f"{name}.sqlite3", key, SystemClock())
        for name, key in keys.items()
    }
    out: dict[str, list[float]] = {name: [] for name in keys}
    try:
        for i in range(ENQUEUES + 1):
            for name, store in stores.items():
                start = time.perf_counter()
                await store.enqueue(
                    kind="dmp.submit", idempotency_key=f"k{i}", payload=PAYLOAD, signer=signer
                )
                if i:  # the first one creates the file's pages
                    out[name].append((time.perf_counter() - start) * 1000)
    finally:
        for store in stores.values():
            await store.close()
    return out


def run() -> dict[str, Any]:
    """Measure with the simulated world's tokens provisioned in a scratch directory."""
    from kiosk.sim.hsm import DEVICE_LABEL
    from kiosk.sim.pki import ESTABLISHMENT
    from tests.bench.scratch import scratch_tokens

    with scratch_tokens("bench-device-key-") as (base, pki, hsm):
        from kiosk.outbox.keys import FileDeviceKey, TokenDeviceKey

        pin = hsm.device_pin_file.read_text().strip()

        async def login() -> TokenDeviceKey:
            return await TokenDeviceKey.login(hsm.module, pin, token_label=DEVICE_LABEL)

        async def login_and_close() -> None:
            key = await login()
            await key.aclose()

        logins = times_ms(lambda: asyncio.run(login_and_close()), LOGIN_ROUNDS)
        token = asyncio.run(login())
        file = FileDeviceKey.load_or_create(base / "device.key")
        signer = pki.signer_for(ESTABLISHMENT)
        try:
            token_sealed = token.seal(PAYLOAD, AAD)
            file_sealed = file.seal(PAYLOAD, AAD)
            assert token.open(token_sealed, AAD) == PAYLOAD
            results: dict[str, Any] = {
                "token_seal": _stats(times_ms(lambda: token.seal(PAYLOAD, AAD), ROUNDS)),
                "file_seal": _stats(times_ms(lambda: file.seal(PAYLOAD, AAD), ROUNDS)),
                "token_open": _stats(times_ms(lambda: token.open(token_sealed, AAD), ROUNDS)),
                "file_open": _stats(times_ms(lambda: file.open(file_sealed, AAD), ROUNDS)),
                # SoftHSM2 2.6 answers CKR_GENERAL_ERROR; the key's check vector then
                # tells altered data from a failing token: two token calls per refusal.
                "token_open_refused": _stats(
                    times_ms(_refused(token, _flipped(token_sealed)), ROUNDS // 5)
                ),
                "token_login": _stats(logins),
            }
            enqueues = asyncio.run(_enqueue_ms(base, {"token": token, "file": file}, signer))
            for name, samples in enqueues.items():
                results[f"{name}_enqueue"] = _stats(samples)
        finally:
            asyncio.run(token.aclose())

    def median(name: str) -> float:
        return float(results[name]["median_ms"])

    results["summary"] = {
        "payload_bytes": len(PAYLOAD),
        "seal_median_ms": {"token": median("token_seal"), "file": median("file_seal")},
        "open_median_ms": {"token": median("token_open"), "file": median("file_open")},
        "enqueue_median_ms": {"token": median("token_enqueue"), "file": median("file_enqueue")},
        "token_open_refused_median_ms": median("token_open_refused"),
        "token_login_median_ms": median("token_login"),
        "seal_token_over_file": round(median("token_seal") / median("file_seal"), 1),
        "enqueue_token_over_file": round(median("token_enqueue") / median("file_enqueue"), 3),
    }
    return results
