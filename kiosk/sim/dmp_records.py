"""The simulated DMP's patient records: TD0.2, TD0.3, TD1.1 and TD1.5 on SQLite.

Used by :class:`kiosk.sim.dmp_service.DmpSimulator` inside its transaction, on its
connection, once the VIHF is checked. Rules (DOMAIN.md §1 and §6): one DMP per INS
(a second TD1.1 is ``DMP_EXISTANT``); the establishment is authorized at creation when
the patient agreed, or later by TD0.3; TD0.3 and TD1.5 need an existing DMP; TD1.5
returns a web identifier and a temporary password. Other management transactions
are answered ``TRANSACTION_NON_SIMULEE``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3

from lxml import etree

from kiosk.clock import Clock
from kiosk.dmp.hl7v3 import Acknowledgement, MessageHeader
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    AuthorizationStatus,
    CreationRequest,
    ExistenceQuery,
    ExistenceResponse,
    Request,
    TransactionResponse,
    WebAccountRequest,
    WebCredentials,
    build_existence_response,
    build_transaction_response,
)
from kiosk.dmp.vihf import VihfReading

__all__ = ["RECORD_SCHEMA", "RecordKeeper"]

RECORD_SCHEMA = """
CREATE TABLE IF NOT EXISTS dmp (
    matricule TEXT PRIMARY KEY, oid TEXT NOT NULL, created_at TEXT NOT NULL,
    traits TEXT NOT NULL, consent TEXT NOT NULL,
    web_identifier TEXT, web_password TEXT
);
CREATE TABLE IF NOT EXISTS authorization (
    matricule TEXT NOT NULL, structure TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (matricule, structure)
);
"""


class RecordKeeper:
    """The patients' records of the simulated DMP, on the service's connection."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self.clock = clock
        db.executescript(RECORD_SCHEMA)

    def exists(self, matricule: str) -> bool:
        """Whether a DMP was created for this matricule."""
        row = self._db.execute("SELECT 1 FROM dmp WHERE matricule = ?", (matricule,)).fetchone()
        return row is not None

    def apply(
        self, request: Request, reading: VihfReading, reply: MessageHeader, target: str
    ) -> tuple[etree._Element, str, str]:
        """Apply ``request`` to the records: the HL7 answer, the trace outcome, the transaction."""
        structure = reading.structure_id
        ok = Acknowledgement(True, target_message_id=target)
        if isinstance(request, ExistenceQuery):
            matricule = request.patient.matricule.value
            row = self._db.execute(
                "SELECT web_identifier FROM dmp WHERE matricule = ?", (matricule,)
            ).fetchone()
            auth = self._db.execute(
                "SELECT status FROM authorization WHERE matricule = ? AND structure = ?",
                (matricule, structure),
            ).fetchone()
            status = AuthorizationStatus(auth[0]) if auth else AuthorizationStatus.NONE
            existence = ExistenceResponse(
                ok, row is not None, status, web_account_open=bool(row[0]) if row else None
            )
            body = build_existence_response(reply, existence, request.patient)
            return body, f"exists={row is not None}", "TD0.2"
        if not isinstance(request, AuthorizationRequest | CreationRequest | WebAccountRequest):
            refused = Acknowledgement(False, "TRANSACTION_NON_SIMULEE", "Non simulé", target)
            return build_transaction_response(reply, TransactionResponse(refused)), "AE", "TD1.x"
        matricule = request.patient.matricule.value
        exists = self.exists(matricule)
        if isinstance(request, CreationRequest):
            if exists:
                refused = Acknowledgement(False, "DMP_EXISTANT", "Un DMP existe déjà.", target)
                return (
                    build_transaction_response(reply, TransactionResponse(refused)),
                    "AE",
                    "TD1.1",
                )
            traits = request.traits
            self._db.execute(
                "INSERT INTO dmp VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                (
                    matricule,
                    request.patient.oid,
                    self.clock.now().isoformat(),
                    json.dumps([traits.family_name, traits.given_name, traits.birth_date]),
                    json.dumps(
                        {
                            "establishment_access": request.consent.establishment_access,
                            "emergency_access": request.consent.emergency_access,
                            "regulation_centre_access": request.consent.regulation_centre_access,
                        }
                    ),
                ),
            )
            if request.consent.establishment_access:
                self._authorize(matricule, structure)
            return build_transaction_response(reply, TransactionResponse(ok)), "AA", "TD1.1"
        transaction = "TD0.3" if isinstance(request, AuthorizationRequest) else "TD1.5"
        if not exists:
            refused = Acknowledgement(False, "DMP_INEXISTANT", "Aucun DMP pour ce patient.", target)
            return (
                build_transaction_response(reply, TransactionResponse(refused)),
                "AE",
                transaction,
            )
        if isinstance(request, AuthorizationRequest):
            self._authorize(matricule, structure)
            return build_transaction_response(reply, TransactionResponse(ok)), "AA", transaction
        credentials = WebCredentials(f"DMP{secrets.randbelow(10**9):09d}", secrets.token_urlsafe(9))
        self._db.execute(
            "UPDATE dmp SET web_identifier = ?, web_password = ? WHERE matricule = ?",
            (credentials.identifier, credentials.temporary_password, matricule),
        )
        answer = TransactionResponse(ok, credentials)
        return build_transaction_response(reply, answer), "AA", transaction

    def _authorize(self, matricule: str, structure: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO authorization VALUES (?, ?, ?)",
            (matricule, structure, AuthorizationStatus.VALID.value),
        )
