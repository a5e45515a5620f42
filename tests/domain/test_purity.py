"""The domain imports only the standard library, the error tree and itself (STYLE.md §1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import kiosk.domain

PACKAGE = Path(kiosk.domain.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))  # every module, also the ones added later


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # a relative import stays inside the domain package
                continue
            names.add(node.module)
    return names


def test_the_glob_sees_the_domain() -> None:
    assert {"nir.py", "ins.py", "consent.py", "__init__.py"} <= {p.name for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_modules_import_only_stdlib_errors_and_domain(path: Path) -> None:
    for module in imported_roots(path):
        root = module.split(".")[0]
        allowed = (
            root in sys.stdlib_module_names
            or module in ("kiosk.errors", "kiosk.locale")
            or module.startswith("kiosk.locale.")
            or module == "kiosk.domain"
            or module.startswith("kiosk.domain.")
        )
        assert allowed, f"kiosk/domain/{path.relative_to(PACKAGE)} imports {module}"
