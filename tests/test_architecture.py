"""The house: optimodel's modules import each other without a cycle, counting every import, at the
top of a file, inside a function or under ``TYPE_CHECKING``, as the issue that removed the last
three cycles asked. The graph is read from the source with ``ast``, independently of any tool."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "optimodel"

LAYERS = ["foundation", "inputs", "model", "solver", "results", "api", "workflows", "cli"]
"""Bottom to top: a module imports only from its own layer and those below (README, "Layout")."""

FOUNDATION = {"optimodel.errors", "optimodel.palette", "optimodel.tolerances", "optimodel.version"}


def layer_of(module: str) -> str:
    """The layer of an optimodel module: its subpackage, or for a top-level module its role."""
    if module in FOUNDATION:
        return "foundation"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    if module == "optimodel.api":
        return "api"
    if len(parts) > 1 and parts[1] == "datasets":
        # Making a dataset writes a data folder the way run folders are written.
        return "workflows"
    # The package's entry points sit on top: the command line, the lazy public names, testing.
    return "cli"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every optimodel module ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # "from . import x" names the module x where there is one, else a name in the package.
            named = [f"{stem}.{alias.name}" for alias in node.names]
            targets = named if all(target in modules for target in named) else [*named, stem]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_reader_sees_a_cycle_where_there_is_one() -> None:
    # The cycle finder itself, on a graph with one cycle of three and a tail.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    assert "optimodel.api" in graph and "optimodel.model.registry" in graph
    assert cycles(graph) == []


def test_every_module_imports_only_its_own_layer_and_those_below() -> None:
    graph = import_graph()
    rank = {layer: position for position, layer in enumerate(LAYERS)}
    assert {layer_of(module) for module in graph} == set(LAYERS)
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if rank[layer_of(target)] > rank[layer_of(module)]
    ]
    assert upward == []


def test_the_layering_check_sees_an_upward_import() -> None:
    assert layer_of("optimodel.inputs.data") == "inputs" and layer_of("optimodel.solver.session") == "solver"
    assert layer_of("optimodel.cli") == "cli" and layer_of("optimodel.errors") == "foundation"
    assert layer_of("optimodel.datasets.generate") == "workflows"


def test_the_public_solve_is_still_a_function_after_every_subpackage_is_imported() -> None:
    # The subpackage holding HiGHS is optimodel.solver, never optimodel.solve: importing a
    # subpackage binds its name on the package and would hide optimodel.solve(scenario).
    import importlib

    import optimodel

    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "__main__.py":
            importlib.import_module(module_name(path))
    assert callable(optimodel.solve) and optimodel.solve.__module__ == "optimodel.api"
