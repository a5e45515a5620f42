"""The JSON Schema of each kind of profile, generated from the models into ``hw/schema/``.

Tools outside Python (an editor, a CI step with ``check-jsonschema``) validate a profile
against ``hw/schema/<kind>.schema.json``; ``kiosk hw schema`` writes the files and
``kiosk hw schema --check`` says whether the committed ones are current.
"""

from __future__ import annotations

import json

from kiosk.hardware.loading import MODELS
from kiosk.hardware.models import KINDS, Kind

__all__ = ["render_schemas", "schema_file"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_file(kind: Kind) -> str:
    """``reader.schema.json`` for ``readers``."""
    return f"{kind.removesuffix('s')}.schema.json"


def render_schemas() -> dict[str, str]:
    """File name → JSON text of each kind's schema (stable: sorted keys, one trailing newline)."""
    files = {}
    for kind in KINDS:
        schema = {
            "$schema": _DIALECT,
            **MODELS[kind].model_json_schema(),
        }
        files[schema_file(kind)] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return files
