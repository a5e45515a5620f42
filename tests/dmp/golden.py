"""Golden-file comparison of DMP messages with ``tests/vectors/dmp/``."""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from tests.vectors_regen import regenerating

__all__ = ["VECTORS", "assert_golden", "canonical"]

VECTORS = Path(__file__).parent.parent / "vectors" / "dmp"


def canonical(element: etree._Element) -> str:
    """Indented C14N 2.0 text of ``element``: stable across builds, readable in a diff."""
    tree = copy.deepcopy(element)
    etree.indent(tree, space="  ")
    return etree.tostring(tree, method="c14n2").decode("utf-8") + "\n"


def assert_golden(name: str, element: etree._Element) -> None:
    """Compare with ``tests/vectors/dmp/<name>``; ``KIOSK_REGEN_VECTORS=1`` rewrites it."""
    path = VECTORS / name
    text = canonical(element)
    if regenerating():
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
