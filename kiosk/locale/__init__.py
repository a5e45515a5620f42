"""The user-text catalogue: one TOML file per language, loaded once, keyed by stable ids.

Every sentence a user may read (errors, CLI lines, later the TUI) lives in
``fr.toml`` and ``en.toml`` under the same dotted key, with ``str.format`` named
placeholders. Code names a text by its key (:func:`msg`, :func:`text`), never by its
words. The module is a leaf (standard library only) so the pure domain and the error
tree may use it.

An unknown key or a missing placeholder raises :class:`CatalogueError` when
:data:`strict` is on (the test suite turns it on); at a desk it logs the fault and
shows the key instead, so a typo never hides the error being reported.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "LANGUAGES",
    "CatalogueError",
    "Message",
    "Words",
    "catalogue",
    "msg",
    "set_strict",
    "text",
]

LANGUAGES = ("fr", "en")

_log = logging.getLogger(__name__)
_strict = False


class CatalogueError(LookupError):
    """A key missing from a catalogue, or a text whose placeholders were not all given."""


def set_strict(value: bool) -> None:
    """Make lookup faults raise (tests) instead of falling back to the key (desks)."""
    global _strict
    _strict = value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = str(value)
    return flat


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every text of ``lang`` by dotted key, read once from the package data."""
    if lang not in LANGUAGES:
        lang = "fr"
    source = resources.files(__package__).joinpath(f"{lang}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(source))


def text(key: str, lang: str = "fr", /, **params: object) -> str:
    """The text ``key`` in ``lang``, its placeholders filled from ``params`` (messages too)."""
    filled = {
        name: v.text(lang) if isinstance(v, Message | Words) else v for name, v in params.items()
    }
    try:
        return catalogue(lang)[key].format(**filled)
    except (KeyError, IndexError, ValueError) as exc:
        if _strict:
            raise CatalogueError(f"{lang}:{key}: {exc!r}") from exc
        _log.error("catalogue fault", extra={"key": key, "lang": lang, "fault": repr(exc)})
        return key


@dataclass(frozen=True)
class Words:
    """Words already in both languages from elsewhere (a service's own fault reason)."""

    fr: str
    en: str

    def text(self, lang: str = "fr") -> str:
        """The words in ``lang``."""
        return self.en if lang == "en" else self.fr


@dataclass(frozen=True)
class Message:
    """A catalogue key and its parameters, rendered in either language on demand."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, lang: str = "fr") -> str:
        """The message in ``lang``."""
        return text(self.key, lang, **self.params)


def msg(key: str, /, **params: object) -> Message:
    """The message ``key`` with ``params``; checked at once so a bad key fails in tests."""
    message = Message(key, params)
    if _strict:
        for lang in LANGUAGES:
            message.text(lang)
    return message
