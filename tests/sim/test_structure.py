"""The simulated world composes its components; no component imports the world back."""

from __future__ import annotations

import itertools

import grimp
import pytest

WORLD = "kiosk.sim.world"
COMPONENTS = ("cards", "dmp", "insi", "printer", "feed")
"""The subpackages of ``kiosk/sim/``, each one simulator (ARCHITECTURE.md §2)."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # TYPE_CHECKING imports count: an annotation naming the world is still a way back.
    return grimp.build_graph("kiosk", cache_dir=None)


def sim_modules(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m == "kiosk.sim" or m.startswith("kiosk.sim."))


def test_nothing_in_the_simulators_imports_the_world(graph: grimp.ImportGraph) -> None:
    back = {
        module: graph.find_shortest_chain(importer=module, imported=WORLD)
        for module in sim_modules(graph)
        if module != WORLD
    }
    assert {m: chain for m, chain in back.items() if chain} == {}


def test_no_import_cycle_among_simulator_modules(graph: grimp.ImportGraph) -> None:
    modules = sim_modules(graph)
    cycles = [
        (importer, imported)
        for importer in modules
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if imported in modules and graph.chain_exists(importer=imported, imported=importer)
    ]
    assert cycles == []


@pytest.mark.parametrize(("one", "other"), list(itertools.permutations(COMPONENTS, 2)))
def test_components_stand_apart(graph: grimp.ImportGraph, one: str, other: str) -> None:
    importer, imported = f"kiosk.sim.{one}", f"kiosk.sim.{other}"
    assert not graph.chain_exists(importer=importer, imported=imported, as_packages=True)


def test_the_world_composes_every_component(graph: grimp.ImportGraph) -> None:
    assert all(
        graph.chain_exists(importer=WORLD, imported=f"kiosk.sim.{name}", as_packages=True)
        for name in COMPONENTS
    )
