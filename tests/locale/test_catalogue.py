"""The user-text catalogue: both languages agree, every key is used, no text is inline."""

from __future__ import annotations

import ast
import inspect
import string
from pathlib import Path

import pytest

import kiosk
import kiosk.errors
from kiosk.errors import KioskError, Unavailable
from kiosk.locale import LANGUAGES, CatalogueError, catalogue, msg, set_strict, text

ROOT = Path(kiosk.__file__).parent

# The simulators' own protocol words (a simulated DMP's SOAP faults) are the simulated
# service's texts, not ours: they stay inline.
PROTOCOL_TEXT = ("sim/dmp/", "sim/insi/")


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _error_names() -> set[str]:
    """Every KioskError subclass name defined in kiosk/, by AST (no import of adapters)."""
    bases: dict[str, set[str]] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
    names = {"KioskError"}
    grew = True
    while grew:
        more = {n for n, b in bases.items() if b & names} - names
        names |= more
        grew = bool(more)
    return names


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _footer_keys(tree: ast.AST) -> set[str]:
    """The label keys of a screen's ``KEYS = (("key", "action", "label.key"), ...)``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if not any(isinstance(t, ast.Name) and t.id == "KEYS" for t in targets):
            continue
        value = node.value  # type: ignore[union-attr]
        for item in ast.walk(value) if value is not None else ():
            if isinstance(item, ast.Tuple) and len(item.elts) == 3:
                label = item.elts[2]
                if isinstance(label, ast.Constant) and "." in str(label.value):
                    found.add(str(label.value))
    return found


def _used_keys() -> dict[str, str]:
    """Every key given to ``msg`` or ``text`` in kiosk/, or a footer label, with where it is.

    A key built as ``f"domain.ins.status.{...}"`` uses every key under its prefix.
    """
    keys: dict[str, str] = {}
    for path in _modules():
        tree = ast.parse(path.read_text("utf-8"))
        keys.update({k: f"{path.relative_to(ROOT)}: KEYS" for k in _footer_keys(tree)})
        for call in _calls(tree):
            named = _name(call) == "msg" or (
                isinstance(call.func, ast.Name) and call.func.id == "text"
            )
            if named and call.args:
                first = call.args[0]
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if isinstance(first, ast.Constant) and "." in str(first.value):
                    keys[first.value] = where
                elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                    prefix = str(first.values[0].value)
                    keys.update({k: where for k in catalogue("fr") if k.startswith(prefix)})
    return keys


def test_both_languages_hold_the_same_keys() -> None:
    fr, en = (set(catalogue(lang)) for lang in LANGUAGES)
    assert fr - en == set(), "keys only in fr.toml"
    assert en - fr == set(), "keys only in en.toml"


def test_both_languages_take_the_same_placeholders() -> None:
    fr, en = (catalogue(lang) for lang in LANGUAGES)
    differ = {key: (_fields(fr[key]), _fields(en[key])) for key in fr if key in en}
    assert {k: v for k, v in differ.items() if v[0] != v[1]} == {}


def test_every_key_used_in_code_exists() -> None:
    missing = {k: where for k, where in _used_keys().items() if k not in catalogue("fr")}
    assert missing == {}


def test_every_catalogue_key_is_used() -> None:
    assert set(catalogue("fr")) - set(_used_keys()) == set()


def _is_words(node: ast.expr) -> bool:
    """An f-string, or a literal with a space in it (``"header"`` names a field, not words)."""
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value


def test_no_error_is_raised_with_inline_words() -> None:
    errors = _error_names() | {"__init__"}  # super().__init__ in an error's own constructor
    inline = []
    for path in _modules():
        where = str(path.relative_to(ROOT))
        if where.startswith(PROTOCOL_TEXT):
            continue
        for call in _calls(ast.parse(path.read_text("utf-8"))):
            if _name(call) in errors and any(_is_words(a) for a in call.args):
                inline.append(f"{where}:{call.lineno}")
    assert inline == [], inline


def test_an_error_from_a_key_speaks_both_languages() -> None:
    key = next(iter(catalogue("fr")))
    params = {name: "x" for name in _fields(catalogue("fr")[key])}
    error = Unavailable(msg(key, **params), detail="d")
    assert error.message("fr") == error.message_fr == text(key, "fr", **params)
    assert error.message("en") == error.message_en == str(error)
    assert (error.key, error.code, error.detail) == (key, "UNAVAILABLE", "d")


def test_a_rendered_pair_still_makes_an_error() -> None:
    error = KioskError("bonjour", "hello")
    assert (error.message("fr"), error.message("en"), error.key) == ("bonjour", "hello", None)


def test_an_unknown_key_or_a_missing_placeholder_fails_in_tests() -> None:
    with pytest.raises(CatalogueError):
        msg("no.such.key")
    key = next(k for k, v in catalogue("fr").items() if _fields(v))
    with pytest.raises(CatalogueError):
        msg(key)


def test_at_a_desk_a_catalogue_fault_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    set_strict(False)
    try:
        error = Unavailable(msg("no.such.key"))
    finally:
        set_strict(True)
    assert (error.message("fr"), error.message("en")) == ("no.such.key", "no.such.key")
    assert "catalogue fault" in caplog.text


def test_the_error_tree_module_exports_msg() -> None:
    assert inspect.getmodule(kiosk.errors.msg) is inspect.getmodule(msg)
