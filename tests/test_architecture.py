"""The floors of docs/architecture.md hold: every module of src/automata imports only modules
of its own floor or below, and no modules import each other in a loop. The table is read from
the page itself, so the page and the code cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .conftest import ROOT

SRC = ROOT / "src" / "automata"
DOC = ROOT / "docs" / "architecture.md"


def _floors() -> dict[str, int]:
    """``{unit: floor}`` from the page's table (a unit: a top-level module or package)."""
    floors: dict[str, int] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            for unit in re.findall(r"`([\w_]+)`", cells[1]):
                floors[unit] = int(cells[0])
    return floors


def _unit(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["automata", *parts])


def _imports(path: Path) -> set[str]:
    """The automata modules ``path`` imports (anywhere in it, lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("automata")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "automata":
                found |= {f"automata.{a.name}" for a in node.names}
            elif node.module.startswith("automata."):
                found.add(node.module)
    return found


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "shipped" not in p.parts)


def test_every_unit_of_the_package_has_a_floor():
    floors = _floors()
    units = {_unit(p) for p in _sources()} - {"__init__"}
    assert units - set(floors) == set(), "docs/architecture.md: give these a floor"
    assert set(floors) - units == set(), "docs/architecture.md names units that do not exist"


def test_no_module_imports_one_above_its_floor():
    floors = _floors()
    above = []
    for path in _sources():
        unit = _unit(path)
        if unit == "__init__":
            continue
        for name in _imports(path):
            target = name.split(".")[1]
            if target != unit and floors.get(target, 0) > floors[unit]:
                above.append(f"{path.relative_to(SRC)} imports {name} (floor {floors[target]})")
    assert above == []


def test_no_modules_import_each_other_in_a_loop():
    modules = {_module(p): p for p in _sources()}
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    loops: list[str] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                loops.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert loops == []
