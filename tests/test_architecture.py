"""The plan of the house (ARCHITECTURE.md): nothing below `service` reads the environment, and no part
that ships in this package is imported by name at run time. lint-imports checks the direction of
the imports; this checks what it cannot see."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("service", "domain", "billing", "provisioning")
BELOW_SERVICE = ("domain", "billing", "provisioning")
ENVIRONMENT = re.compile(r"\bos\.environ\b|\bgetenv\b|\benviron\b")


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def environment_readers(files: list[Path], root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{n}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ENVIRONMENT.search(line)
    ]


def dynamic_imports_of_ours(files: list[Path], root: Path = ROOT) -> list[str]:
    """`import importlib` below service, and anywhere an import by name (`import_module`, `find_spec`,
    `__import__`) of one of our own packages."""
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        below_service = path.relative_to(root).parts[0] in BELOW_SERVICE
        for node in ast.walk(tree):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            if (below_service and isinstance(node, ast.Import) and any(a.name.startswith("importlib") for a in node.names)) or (
                below_service and isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importlib")
            ):
                found.append(where)
            elif isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                first = node.args[0] if node.args else None
                if (
                    name in ("import_module", "find_spec", "__import__")
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and first.value.split(".")[0] in OURS
                ):
                    found.append(where)
    return found


def test_nothing_below_service_reads_the_environment() -> None:
    files = _sources(*BELOW_SERVICE)
    assert len(files) > 30  # the walk found the packages
    assert environment_readers(files) == []


def test_our_own_parts_are_imported_plainly() -> None:
    assert dynamic_imports_of_ours(_sources(*OURS)) == []


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other, directly or round about (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_round_about() -> None:
    graph = grimp.build_graph(*OURS, cache_dir=None)
    assert {"service.app", "billing.run", "provisioning.worker", "domain.events"} <= graph.modules  # the graph is ours
    assert import_cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in (("p.run", "p.invoices"), ("p.invoices", "p.numbering"), ("p.numbering", "p.run")):
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(importer="p.cli", imported="p.run")
    assert import_cycles(graph) == [["p.invoices", "p.numbering", "p.run"]]


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import os\nX = os.environ.get('A')\n", "env"),
        ("from os import getenv\nX = getenv('A')\n", "env"),
        ("import importlib\n", "dyn"),
        ("import importlib\nm = importlib.import_module('billing.run')\n", "dyn"),
        ("import os\nX = os.sep\n", None),
    ],
)
def test_the_checks_catch_what_they_look_for(tmp_path: Path, source: str, caught: str | None) -> None:
    path = tmp_path / "billing" / "probe.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    assert bool(environment_readers([path], tmp_path)) == (caught == "env")
    assert bool(dynamic_imports_of_ours([path], tmp_path)) == (caught == "dyn")
