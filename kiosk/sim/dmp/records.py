"""The simulated DMP's patient records: TD0.2, TD0.3, TD1.1, TD1.2, TD1.4, TD1.5 on SQLite.

Used by :class:`kiosk.sim.dmp.service.DmpSimulator` inside its transaction, on its
connection, once the VIHF is checked. Rules (DOMAIN.md §1 and §6): one DMP per INS
(a second TD1.1 is ``DMP_EXISTANT``, also when the DMP is closed: it is reactivated,
never created twice); the establishment is authorized at creation when the patient
agreed, or later by TD0.3; TD0.3 and TD1.5 need an existing, open DMP (``DMP_FERME``
otherwise); TD1.5 returns a web identifier and a temporary password; TD1.4 closes an
open DMP and needs a reason (``MOTIF_ABSENT``); TD1.2 reopens a closed one
(``DMP_NON_FERME`` otherwise). TD0.2 answers a closed DMP as existing, with its state.

Mon espace santé (seed 004: « le DMP est automatiquement créé pour les usagers non
détenteurs sauf en cas d'opposition »): the service starts with the patients of
``kiosk/sim/data/dmp_population.toml`` (:meth:`RecordKeeper.load_population`) — DMPs
made without the desk, closed ones, and patients who opposed the creation. TD0.2 answers
an opposed patient as not found, with the state ``OPPOSITION``; a TD1.1 for them is
refused (``OPPOSITION_CREATION``, verify): only the patient lifts an opposition, not a desk.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import tomllib
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from kiosk.clock import Clock
from kiosk.dmp.hl7v3 import Acknowledgement, MessageHeader
from kiosk.dmp.transactions import (
    AuthorizationRequest,
    AuthorizationStatus,
    ClosureRequest,
    CreationRequest,
    DmpState,
    ExistenceQuery,
    ExistenceResponse,
    ReactivationRequest,
    Request,
    TransactionResponse,
    WebCredentials,
    build_existence_response,
    build_transaction_response,
)
from kiosk.dmp.vihf import VihfReading
from kiosk.sim.dmp.access import PatientFile

__all__ = ["CLOSED", "OPEN", "POPULATION_FILE", "RECORD_SCHEMA", "RecordKeeper"]

OPEN = "ACTIF"
CLOSED = "FERME"

RECORD_SCHEMA = """
CREATE TABLE IF NOT EXISTS dmp (
    matricule TEXT PRIMARY KEY, oid TEXT NOT NULL, created_at TEXT NOT NULL,
    traits TEXT NOT NULL, consent TEXT NOT NULL,
    web_identifier TEXT, web_password TEXT,
    status TEXT NOT NULL DEFAULT 'ACTIF', closure_reason TEXT
);
CREATE TABLE IF NOT EXISTS opposition (
    matricule TEXT PRIMARY KEY, recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authorization (
    matricule TEXT NOT NULL, structure TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (matricule, structure)
);
"""

POPULATION_FILE = Path(__file__).parents[1] / "data" / "dmp_population.toml"
"""The fixture patients' DMP states the demo world starts with."""


class RecordKeeper:
    """The patients' records of the simulated DMP, on the service's connection."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self.clock = clock
        db.executescript(RECORD_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(dmp)")}
        if "status" not in columns:  # a database made before closure was simulated
            db.execute(f"ALTER TABLE dmp ADD COLUMN status TEXT NOT NULL DEFAULT '{OPEN}'")
            db.execute("ALTER TABLE dmp ADD COLUMN closure_reason TEXT")

    def load_population(self, path: Path = POPULATION_FILE) -> None:
        """Start with the patients of ``path`` (open, closed, opposed); known ones stay."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        oid = str(data["oid"])
        now = self.clock.now().isoformat()
        for patient in data.get("patient", []):
            matricule, state = str(patient["matricule"]), str(patient["state"])
            if state == "opposed":
                self._db.execute("INSERT OR IGNORE INTO opposition VALUES (?, ?)", (matricule, now))
                continue
            traits = [patient["family_name"], patient["given_name"], patient["birth_date"]]
            consent = {
                "establishment_access": False,
                "emergency_access": True,  # the default of Mon espace santé (DOMAIN.md §1)
                "regulation_centre_access": True,
            }
            self._db.execute(
                "INSERT OR IGNORE INTO dmp (matricule, oid, created_at, traits, consent, status,"
                " closure_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    matricule,
                    oid,
                    now,
                    json.dumps(traits),
                    json.dumps(consent),
                    CLOSED if state == "closed" else OPEN,
                    patient.get("closure_reason"),
                ),
            )
            for structure in patient.get("authorized", []):
                self._db.execute(
                    "INSERT OR IGNORE INTO authorization VALUES (?, ?, ?)",
                    (matricule, str(structure), AuthorizationStatus.VALID.value),
                )

    def opposed(self, matricule: str) -> bool:
        """Whether the patient opposed the creation of their DMP (seed 004)."""
        row = self._db.execute(
            "SELECT 1 FROM opposition WHERE matricule = ?", (matricule,)
        ).fetchone()
        return row is not None

    def exists(self, matricule: str) -> bool:
        """Whether a DMP was created for this matricule."""
        row = self._db.execute("SELECT 1 FROM dmp WHERE matricule = ?", (matricule,)).fetchone()
        return row is not None

    def status(self, matricule: str) -> str | None:
        """``ACTIF`` or ``FERME``; None when there is no DMP."""
        row = self._db.execute(
            "SELECT status FROM dmp WHERE matricule = ?", (matricule,)
        ).fetchone()
        return str(row[0]) if row else None

    def summary(self, matricule: str) -> dict[str, object]:
        """The record as ``kiosk sim dmp show`` prints it (the temporary password never)."""
        row = self._db.execute(
            "SELECT oid, created_at, consent, web_identifier, status, closure_reason"
            " FROM dmp WHERE matricule = ?",
            (matricule,),
        ).fetchone()
        authorizations = self._db.execute(
            "SELECT structure, status FROM authorization WHERE matricule = ?", (matricule,)
        ).fetchall()
        return {
            "exists": row is not None,
            "oid": row[0] if row else None,
            "created_at": row[1] if row else None,
            "status": row[4] if row else None,
            "closure_reason": row[5] if row else None,
            "opposed": self.opposed(matricule),
            "consent": json.loads(row[2]) if row else None,
            "web_account": bool(row and row[3]),
            "authorizations": dict(authorizations),
        }

    def authorized(self, matricule: str, structure: str) -> bool:
        """Whether the patient authorized this structure's professionals (TD0.3 or creation)."""
        row = self._db.execute(
            "SELECT status FROM authorization WHERE matricule = ? AND structure = ?",
            (matricule, structure),
        ).fetchone()
        return row is not None and row[0] == AuthorizationStatus.VALID.value

    def patient_file(self, matricule: str) -> PatientFile | None:
        """The consent record and Vitale traits stored at creation, for the access rules."""
        row = self._db.execute(
            "SELECT traits, consent FROM dmp WHERE matricule = ?", (matricule,)
        ).fetchone()
        if row is None:
            return None
        family_name, _given, birth_date = json.loads(row[0])
        consent = json.loads(row[1])
        return PatientFile(
            emergency_access=bool(consent["emergency_access"]),
            regulation_centre_access=bool(consent["regulation_centre_access"]),
            family_name=family_name,
            birth_date=birth_date,
        )

    def apply(
        self, request: Request, reading: VihfReading, reply: MessageHeader, target: str
    ) -> tuple[etree._Element, str, str]:
        """Apply ``request`` to the records: the HL7 answer, the trace outcome, the transaction."""
        structure = reading.structure_id
        ok = Acknowledgement(True, target_message_id=target)
        if isinstance(request, ExistenceQuery):
            matricule = request.patient.matricule.value
            row = self._db.execute(
                "SELECT web_identifier, status FROM dmp WHERE matricule = ?", (matricule,)
            ).fetchone()
            auth = self._db.execute(
                "SELECT status FROM authorization WHERE matricule = ? AND structure = ?",
                (matricule, structure),
            ).fetchone()
            granted = AuthorizationStatus(auth[0]) if auth else AuthorizationStatus.NONE
            if row is not None:
                state = DmpState.CLOSED if row[1] == CLOSED else DmpState.OPEN
            else:
                state = DmpState.OPPOSED if self.opposed(matricule) else DmpState.NONE
            existence = ExistenceResponse(
                ok,
                row is not None,
                granted,
                web_account_open=bool(row[0]) if row else None,
                state=state,
            )
            body = build_existence_response(reply, existence, request.patient)
            return body, f"exists={row is not None}", "TD0.2"

        def answer(code: str, text: str, transaction: str) -> tuple[etree._Element, str, str]:
            ack = Acknowledgement(not code, code, text, target) if code else ok
            body = build_transaction_response(reply, TransactionResponse(ack))
            return body, code or "AA", transaction

        matricule = request.patient.matricule.value
        status = self.status(matricule)
        exists = status is not None
        if isinstance(request, ClosureRequest | ReactivationRequest):
            return self._lifecycle(request, status, answer)
        if isinstance(request, CreationRequest):
            if exists:
                return answer("DMP_EXISTANT", "Un DMP existe déjà.", "TD1.1")
            if self.opposed(matricule):
                text = "Le patient s'est opposé à la création de son DMP."
                return answer("OPPOSITION_CREATION", text, "TD1.1")
            traits = request.traits
            self._db.execute(
                "INSERT INTO dmp (matricule, oid, created_at, traits, consent)"
                " VALUES (?, ?, ?, ?, ?)",
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
            return answer("DMP_INEXISTANT", "Aucun DMP pour ce patient.", transaction)
        if status == CLOSED:
            return answer("DMP_FERME", "Le DMP de ce patient est fermé.", transaction)
        if isinstance(request, AuthorizationRequest):
            self._authorize(matricule, structure)
            return build_transaction_response(reply, TransactionResponse(ok)), "AA", transaction
        credentials = WebCredentials(f"DMP{secrets.randbelow(10**9):09d}", secrets.token_urlsafe(9))
        self._db.execute(
            "UPDATE dmp SET web_identifier = ?, web_password = ? WHERE matricule = ?",
            (credentials.identifier, credentials.temporary_password, matricule),
        )
        opened = TransactionResponse(ok, credentials)
        return build_transaction_response(reply, opened), "AA", transaction

    def _lifecycle(
        self,
        request: ClosureRequest | ReactivationRequest,
        status: str | None,
        answer: Callable[[str, str, str], tuple[etree._Element, str, str]],
    ) -> tuple[etree._Element, str, str]:
        matricule = request.patient.matricule.value
        if isinstance(request, ClosureRequest):
            if status is None:
                return answer("DMP_INEXISTANT", "Aucun DMP pour ce patient.", "TD1.4")
            if status == CLOSED:
                return answer("DMP_FERME", "Le DMP de ce patient est déjà fermé.", "TD1.4")
            if not request.reason.strip():
                return answer("MOTIF_ABSENT", "Le motif de fermeture est obligatoire.", "TD1.4")
            self._db.execute(
                "UPDATE dmp SET status = ?, closure_reason = ? WHERE matricule = ?",
                (CLOSED, request.reason.strip(), matricule),
            )
            return answer("", "", "TD1.4")
        if status is None:
            return answer("DMP_INEXISTANT", "Aucun DMP pour ce patient.", "TD1.2")
        if status != CLOSED:
            return answer("DMP_NON_FERME", "Le DMP de ce patient n'est pas fermé.", "TD1.2")
        self._db.execute(
            "UPDATE dmp SET status = ?, closure_reason = NULL WHERE matricule = ?",
            (OPEN, matricule),
        )
        return answer("", "", "TD1.2")

    def _authorize(self, matricule: str, structure: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO authorization VALUES (?, ?, ?)",
            (matricule, structure, AuthorizationStatus.VALID.value),
        )
