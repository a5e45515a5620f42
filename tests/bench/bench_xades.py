"""XAdES on a TD2.1 submission set: what signing and checking cost the client and the DMP.

Measured on the inline ITI-41 body of one discharge letter with a 200 KB PDF (as
``bench_dmp`` sends): ``sign_submission`` (digest manifest: exclusive c14n of the
metadata + SHA-256 of the document, then XAdES-BES through the Signer port) with the
in-process establishment key and with the doctor's signature key on SoftHSM2, and
``verify_submission`` as the simulated DMP runs it. A real CPS card adds 100–500 ms
per signature (FIELD-NOTES.md "Signatures"): one signature per submission.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.bench.timing import times_ms

ROUNDS = 100


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "n": len(ordered),
    }


def _body() -> Any:
    from lxml import etree

    from kiosk.dmp.cda import build_cda
    from kiosk.dmp.vocabulary import OID, CodedValue
    from kiosk.dmp.xds import Submission, build_submission
    from kiosk.domain.visibility import Visibility
    from tests.dmp.samples import PDF, cda_document

    pdf = PDF + os.urandom(200 * 1024)
    cda = cda_document(pdf=pdf)
    return build_submission(
        Submission(
            cda=cda,
            document=etree.tostring(build_cda(cda), xml_declaration=True, encoding="UTF-8"),
            entry_uuid=uuid.uuid4(),
            submission_uuid=uuid.uuid4(),
            submission_unique_id="1.2.250.1.999.1.2.1",
            source_id="1.2.250.1.999.1.3",
            visibility=Visibility(),
            class_code=CodedValue("10", OID["xds_class"]),
            practice=CodedValue("ETABLISSEMENT", OID["xds_practice"]),
            content_type=CodedValue("04", OID["xds_content_type"]),
            submitted=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        )
    )


def run() -> dict[str, Any]:
    """Measure with the test PKI and SoftHSM2 tokens generated in a scratch directory."""
    from kiosk.sim.pki import professional
    from tests.bench.scratch import scratch_tokens

    with scratch_tokens("bench-xades-") as (base, pki, hsm):
        from lxml import etree

        from kiosk.cards.pinlock import SimulatedPinLock
        from kiosk.cards.pkcs11 import CpsModule
        from kiosk.dmp.xades import sign_submission, verify_submission
        from kiosk.soap.wssec import IssuedBy

        doctor = professional("doctor")
        module = CpsModule(hsm.module, pin_lock=SimulatedPinLock(base / "pin-tries"))

        async def login() -> Any:
            return await module.login(doctor.pin, card_serial=doctor.card_serial)

        session = asyncio.run(login())
        body = _body()
        size = len(etree.tostring(body))
        software = pki.signer_for("establishment")
        signed = etree.fromstring(etree.tostring(sign_submission(body, software)))
        trust = IssuedBy((pki.ca_certificate,), lambda: datetime(2026, 1, 15, tzinfo=UTC))
        soft = _stats(times_ms(lambda: sign_submission(body, software), ROUNDS))
        token = _stats(times_ms(lambda: sign_submission(body, session.signer), ROUNDS))
        check = _stats(times_ms(lambda: verify_submission(signed, trust), ROUNDS))
        asyncio.run(session.aclose())
    return {
        "summary": (
            f"XAdES on a {size // 1024} KB ITI-41 body: sign {soft['median_ms']} ms "
            f"(software key), {token['median_ms']} ms (SoftHSM2); "
            f"verify {check['median_ms']} ms (medians)"
        ),
        "body_bytes": size,
        "sign_software_key": soft,
        "sign_softhsm2": token,
        "verify_in_simulator": check,
    }
