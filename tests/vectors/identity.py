"""Loaders for the NIR and INS Data Matrix vectors (``nir.json``, ``datamatrix.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

__all__ = [
    "DataMatrixCase",
    "DataMatrixFailure",
    "NirCase",
    "NirFailure",
    "datamatrix_cases",
    "datamatrix_failures",
    "nir_cases",
    "nir_failures",
]

_HERE = Path(__file__).parent


def _load(name: str) -> dict[str, Any]:
    return json.loads((_HERE / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class NirCase:
    """A valid NIR or NIA and what parsing it must give."""

    nir: str
    kind: str
    kind_hint: str | None
    masked: str
    birth_place: str
    born_abroad: bool
    note: str


@dataclass(frozen=True)
class NirFailure:
    """An invalid NIR, the reason it must be refused with, and the message when fixed."""

    nir: str
    reason: str
    message_fr: str | None
    note: str


def nir_cases() -> list[NirCase]:
    """Valid NIR/NIA vectors."""
    return [NirCase(**row) for row in _load("nir.json")["valid"]]


def nir_failures() -> list[NirFailure]:
    """Invalid NIR vectors."""
    return [NirFailure(**row) for row in _load("nir.json")["invalid"]]


@dataclass(frozen=True)
class DataMatrixCase:
    """A payload (text or bytes) that must parse, and the identity it holds."""

    name: str
    data: str | bytes
    gs_substitutes: tuple[str, ...] | None
    canonical: bool
    nir: str
    oid: str
    given_names: tuple[str, ...]
    family_name: str
    sex: str
    birth_date: date
    birth_place: str


@dataclass(frozen=True)
class DataMatrixFailure:
    """A payload that must be refused, with the field, reason and offset to report."""

    name: str
    payload: str
    field: str
    reason: str
    offset: int


def datamatrix_cases() -> list[DataMatrixCase]:
    """Valid Data Matrix payload vectors."""
    cases = []
    for row in _load("datamatrix.json")["valid"]:
        if "payload" in row:
            data: str | bytes = row["payload"]
        else:
            data = bytes.fromhex(row.get("payload_latin1_hex") or row["payload_utf8_hex"])
        expected = row["expected"]
        subs = row.get("gs_substitutes")
        cases.append(
            DataMatrixCase(
                name=row["name"],
                data=data,
                gs_substitutes=tuple(subs) if subs is not None else None,
                canonical=row.get("canonical", False),
                nir=expected["nir"],
                oid=expected["oid"],
                given_names=tuple(expected["given_names"]),
                family_name=expected["family_name"],
                sex=expected["sex"],
                birth_date=date.fromisoformat(expected["birth_date"]),
                birth_place=expected["birth_place"],
            )
        )
    return cases


def datamatrix_failures() -> list[DataMatrixFailure]:
    """Invalid Data Matrix payload vectors."""
    return [
        DataMatrixFailure(
            name=row["name"],
            payload=row["payload"],
            field=row["field"],
            reason=row["reason"],
            offset=row["offset"],
        )
        for row in _load("datamatrix.json")["invalid"]
    ]
