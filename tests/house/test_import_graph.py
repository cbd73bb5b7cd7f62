"""The house's one-way rule: imports only point down (DESIGN.md, "The house").

Every module of ``chronolens`` is parsed with ``ast`` (nothing is imported or run), each
``import``/``from ... import`` — at module level or inside a function, where the CLI keeps its
lazy imports — is mapped to the top-level room it lands in, and an import into a higher floor
fails the test with the file, line and both rooms.
"""

from __future__ import annotations

import ast
from pathlib import Path

import chronolens.errors

SRC = Path(chronolens.errors.__file__).parent  # src/chronolens

# room -> floor; a room may import its own floor or any lower one, never a higher one.
FLOORS: dict[str, int] = {
    "errors": 0,
    "atomic": 0,
    "progress": 0,
    "version": 0,
    "timebase": 0,
    "video": 1,
    "encoders": 1,
    "speech": 1,
    "metrics": 1,
    "data": 2,  # the synthetic benchmark renders with video/
    "models": 2,  # towers come from encoders/
    "library": 2,  # the manifest records encoders' and video's provenance
    "ingest": 3,
    "tasks": 4,
    "evaluation": 5,
    "training": 5,
    "demo": 5,
    "__init__": 6,  # the public API
    "web": 7,
    "cli": 7,
    "__main__": 8,
}


def _room(parts: tuple[str, ...]) -> str:
    """Top-level room of a module path under chronolens (``("tasks", "search")`` -> ``tasks``)."""
    return parts[0] if parts else "__init__"


def _imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """``(line, module parts under chronolens)`` of every chronolens import in one file."""
    return _imports_of(path.read_text(encoding="utf-8"), path.relative_to(SRC).with_suffix("").parts)


def _imports_of(source: str, rel: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """The chronolens imports of ``source``, the module at ``rel`` under chronolens (``("tasks", "x")``)."""
    package = rel[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "chronolens" or alias.name.startswith("chronolens."):
                    found.append((node.lineno, tuple(alias.name.split(".")[1:])))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package[: len(package) - node.level + 1]
                target = (*base, *(node.module.split(".") if node.module else ()))
                found.append((node.lineno, target))
            elif node.module and (node.module == "chronolens" or node.module.startswith("chronolens.")):
                parts = tuple(node.module.split(".")[1:])
                if not parts:  # ``from chronolens import x``: x may be a room
                    found.extend((node.lineno, (a.name,)) for a in node.names if a.name in FLOORS)
                    if any(a.name not in FLOORS for a in node.names):
                        found.append((node.lineno, ()))
                else:
                    found.append((node.lineno, parts))
    return found


def test_every_room_has_a_floor() -> None:
    rooms = {p.stem for p in SRC.glob("*.py")} | {p.parent.name for p in SRC.glob("*/__init__.py")}
    assert rooms - set(FLOORS) == set(), "give each new top-level room a floor in FLOORS"


def test_imports_only_point_down() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        own = _room(path.relative_to(SRC).with_suffix("").parts)
        for line, target in _imports(path):
            dest = _room(target)
            if dest == own or dest not in FLOORS:
                continue
            if FLOORS[dest] > FLOORS[own]:
                upward.append(
                    f"{path.relative_to(SRC)}:{line}: {own} (floor {FLOORS[own]}) imports {dest} "
                    f"(floor {FLOORS[dest]})"
                )
    assert upward == [], "imports that run back up:\n" + "\n".join(upward)


def test_library_imports_no_tasks_and_no_ingest() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted((SRC / "library").rglob("*.py"))
        for line, target in _imports(path)
        if _room(target) in {"tasks", "ingest", "evaluation", "training", "cli", "web", "demo"}
    ]
    assert offenders == []


def _violations(source: str, rel: tuple[str, ...]) -> list[str]:
    own = _room(rel)
    return [
        _room(target)
        for _, target in _imports_of(source, rel)
        if _room(target) in FLOORS and _room(target) != own and FLOORS[_room(target)] > FLOORS[own]
    ]


def test_the_check_sees_upward_imports_in_every_form() -> None:
    """The walker itself: lazy, relative and ``from chronolens import`` forms are all caught."""
    lazy = "def f():\n    from chronolens.tasks.search import search\n    return search\n"
    assert _violations(lazy, ("library", "library")) == ["tasks"]
    assert _violations("from ..tasks import search\n", ("library", "store")) == ["tasks"]
    assert _violations("import chronolens.cli.main\n", ("video", "reader")) == ["cli"]
    assert _violations("from chronolens import search\n", ("ingest", "local")) == ["__init__"]
    assert _violations("from chronolens import ingest\n", ("library", "x")) == ["ingest"]
    assert _violations("from chronolens.timebase import Span\n", ("tasks", "search")) == []
    assert _violations("from . import grid\n", ("timebase", "text")) == []
