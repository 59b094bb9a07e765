"""The layering rule, checked on the import graph built from the source (AST), not from what happens to import.

A pure core (io, corpus, codebook, coders, analysis, export) never imports the orchestration layer that owns
the Project (project, the decision log, review, workflow, batch, cli). Within each side, a module imports only
its own layer or lower ones, so the graph has no cycle and no module needs a function-level import to dodge one.
ARCHITECTURE.md draws the same layers; change both together.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import qualcode

PACKAGE = Path(qualcode.__file__).parent

# Low → high. The longest matching prefix decides a module's layer.
LAYERS: dict[str, int] = {
    "qualcode.errors": 0,
    "qualcode.version": 0,
    "qualcode.schemas": 0,
    "qualcode.spans": 0,
    "qualcode.progress": 0,
    "qualcode.messages": 0,
    "qualcode.parallel": 1,
    "qualcode.nlp": 1,
    "qualcode.corpus": 2,
    "qualcode.io": 3,
    "qualcode.codebook": 4,
    "qualcode.codebooks": 4,
    "qualcode.coders": 5,
    "qualcode.analysis": 6,
    "qualcode.export": 7,
    # orchestration: owns the Project
    # review/__init__ imports nothing; its log and anchor sit below the Project that owns a log
    "qualcode.review": 8,
    "qualcode.review.log": 8,
    "qualcode.review.anchor": 8,
    "qualcode.project": 9,
    "qualcode.review.decisions": 10,
    "qualcode.review.table": 10,
    "qualcode.review.sheet": 10,
    "qualcode.review.widget": 10,
    "qualcode.workflow": 11,
    "qualcode.batch": 12,
    "qualcode.testing": 13,
    "qualcode.cli": 14,
    "qualcode.__main__": 14,
    "qualcode": 14,
}
CORE_TOP = LAYERS["qualcode.export"]


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS here and to ARCHITECTURE.md")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def exists(module: str) -> bool:
    path = PACKAGE.parent / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.depth = 0
        self.imports: list[tuple[str, list[str], int, bool]] = []

    def visit_If(self, node: ast.If) -> None:
        if is_type_checking(node):  # annotations only: never executed
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append((alias.name, [], node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        self.imports.append((target, [a.name for a in node.names], node.lineno, self.depth > 0))


def qualcode_imports() -> tuple[list[Import], list[tuple[str, str, str, int]]]:
    """Every import edge between qualcode modules, and every private name imported across modules."""
    edges: list[Import] = []
    private: list[tuple[str, str, str, int]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        collector = Collector(source, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for target, names, line, in_function in collector.imports:
            if not (target == "qualcode" or target.startswith("qualcode.")):
                continue
            # Importing a.b.c runs a.b's __init__ first (the root package's is already running), but a
            # module's own packages are already being imported when it runs.
            parts = target.split(".")
            targets = [".".join(parts[:n]) for n in range(2, len(parts))]
            targets = [t for t in targets if not source.startswith(t + ".")]
            submodules = [f"{target}.{name}" for name in names if exists(f"{target}.{name}")]
            # `from . import sibling` imports the sibling; `from .. import __version__` reads the package itself.
            if len(submodules) < len(names) or not names:
                targets.append(target)
            targets += submodules
            for name in names:
                if name.startswith("_") and not name.startswith("__") and f"{target}.{name}" not in submodules:
                    private.append((source, target, name, line))
            for t in targets:
                if t != source:
                    edges.append(Import(source, t, line, in_function))
    return edges, private


EDGES, PRIVATE = qualcode_imports()


def test_the_graph_is_not_empty():
    # The collector must see the package; a silent empty graph would pass everything below.
    assert len({e.source for e in EDGES}) > 30
    assert any(e.source == "qualcode.workflow" and e.target == "qualcode.project" for e in EDGES)


def test_no_module_imports_upward():
    upward = [f"{e.source}:{e.line} imports {e.target} (layer {layer(e.source)} → {layer(e.target)})"
              for e in EDGES if layer(e.target) > layer(e.source)]
    assert upward == []


def test_the_core_never_imports_the_orchestration_layer():
    leaks = [f"{e.source}:{e.line} imports {e.target}" for e in EDGES
             if layer(e.source) <= CORE_TOP < layer(e.target)]
    assert leaks == []


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for e in EDGES:
        graph.setdefault(e.source, set()).add(e.target)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_no_function_level_import_of_qualcode_modules():
    # A function-level import is how a cycle hides; with the layers above none is needed.
    hidden = [f"{e.source}:{e.line} imports {e.target} inside a function" for e in EDGES if e.in_function]
    assert hidden == []


def test_no_private_name_is_imported_across_modules():
    assert [f"{s}:{line} imports {name} from {t}" for s, t, name, line in PRIVATE] == []


@pytest.mark.parametrize("module", sorted({e.source for e in EDGES} | {e.target for e in EDGES}))
def test_every_module_has_a_layer(module):
    layer(module)
