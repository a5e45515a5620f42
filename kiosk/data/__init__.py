"""Package data shipped with kiosk; loaders return text and leave parsing to the domain."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["habilitations_text"]


def habilitations_text() -> str:
    """The default local DMP habilitation table, as TOML text (site data, to be checked)."""
    return files("kiosk.data").joinpath("habilitations.toml").read_text(encoding="utf-8")
