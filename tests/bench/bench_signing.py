"""RSA-2048 signatures: SoftHSM2 through PKCS#11 versus in-process ``cryptography``; PEM load cost.

Why it matters (FIELD-NOTES.md "Signatures"): every VIHF and outbox item is signed.
The CPE path goes through ``kiosk.cards.pkcs11.Pkcs11Signer`` (C_Sign with
``CKM_SHA256_RSA_PKCS``, serialised by one lock, and from a worker thread when
async); the software path (``kiosk.signing.KeySigner``) signs in process. Parsing a
PEM key validates it, which costs far more than a signature: the figure justifies
loading keys once. Also measured: a full CPE login (C_Login + certificates + data
objects) with the simulated PIN lock, the cost paid once per session.

A real CPS card signs in 100–500 ms: SoftHSM2 figures are a floor, not a forecast.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.bench.timing import times_ms

ROUNDS = 300
PEM_ROUNDS = 20
LOGIN_ROUNDS = 20
DATA = b"<ds:SignedInfo>" + b"x" * 1024 + b"</ds:SignedInfo>"


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "min_ms": round(ordered[0], 3),
        "n": len(ordered),
    }


def run() -> dict[str, Any]:
    """Measure, with the test PKI and SoftHSM2 tokens generated in a scratch directory."""
    from kiosk.sim.pki import professional
    from tests.bench.scratch import scratch_tokens

    with scratch_tokens("bench-signing-") as (base, pki, hsm):
        from kiosk.cards.pinlock import SimulatedPinLock
        from kiosk.cards.pkcs11 import CpsModule
        from kiosk.signing import verify_signature

        doctor = professional("doctor")
        module = CpsModule(hsm.module, pin_lock=SimulatedPinLock(base / "pin-tries"))

        async def login() -> Any:
            return await module.login(doctor.pin, card_serial=doctor.card_serial)

        session = asyncio.run(login())
        signer = session.signer
        assert verify_signature(signer.certificate, DATA, signer.sign(DATA))
        software = pki.signer_for("doctor")
        key_pem = pki.files("doctor", "sign").key.read_bytes()

        token_sign = times_ms(lambda: signer.sign(DATA), ROUNDS)
        soft_sign = times_ms(lambda: software.sign(DATA), ROUNDS)

        async def async_signs() -> list[float]:
            out = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                await signer.sign_async(DATA)
                out.append((time.perf_counter() - start) * 1000)
            return out

        token_async = asyncio.run(async_signs())
        pem_load = times_ms(
            lambda: serialization.load_pem_private_key(key_pem, password=None), PEM_ROUNDS
        )
        session.close()

        def login_logout() -> None:
            asyncio.run(login()).close()

        logins = times_ms(login_logout, LOGIN_ROUNDS)

    token, soft, pem = _stats(token_sign), _stats(soft_sign), _stats(pem_load)
    return {
        "summary": {
            "softhsm_sign_median_ms": token["median_ms"],
            "inprocess_sign_median_ms": soft["median_ms"],
            "softhsm_vs_inprocess": round(token["median_ms"] / soft["median_ms"], 2),
            "softhsm_sign_async_median_ms": _stats(token_async)["median_ms"],
            "pem_load_median_ms": pem["median_ms"],
            "pem_load_in_signatures": round(pem["median_ms"] / soft["median_ms"], 1),
            "cpe_login_median_ms": _stats(logins)["median_ms"],
        },
        "softhsm_sign": token,
        "softhsm_sign_async": _stats(token_async),
        "inprocess_sign": soft,
        "pem_load": pem,
        "cpe_login": _stats(logins),
        "data_bytes": len(DATA),
        "key": "RSA-2048, CKM_SHA256_RSA_PKCS / PKCS1v15+SHA256",
    }
