"""The domain imports only the standard library, the error tree and itself (STYLE.md §1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import kiosk.domain

MINE = ("nir", "ins", "datamatrix", "scanned_text", "consent", "visibility", "habilitation")


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_modules_import_only_stdlib_errors_and_domain() -> None:
    package = Path(kiosk.domain.__file__).parent
    for name in MINE:
        for module in imported_roots(package / f"{name}.py"):
            root = module.split(".")[0]
            allowed = (
                root in sys.stdlib_module_names
                or module in ("kiosk.errors", "kiosk.locale")
                or module.startswith("kiosk.domain")
            )
            assert allowed, f"kiosk/domain/{name}.py imports {module}"
