"""The house rules a reader relies on: no import circle between the project's modules (imports
inside functions count: moving one there hides a circle, it does not remove it; imports under
`if TYPE_CHECKING:` are for annotations and never run), and no module over 300 lines but the
event catalog and the migrations."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("identity_project", "identity", "audit", "notification", "integration", "operations", "bench")
LONGEST = 300
# The catalog is one class per event of the contract: long by nature, and read by type.
LONG_BY_NATURE = {"identity/events.py"}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `module` imports anywhere in its body: `from a import b` counts as an
    import of the module a.b when there is one, else of a."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: list[str] = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING":
            block.body = []  # imports for annotations only: never run
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            named += [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    found = set()
    for name in named:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            component.append(node)
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle_between_modules():
    modules = _modules()
    graph = {module: _imports(module, path, modules) for module, path in modules.items()}
    assert _circles(graph) == []


def test_the_walk_sees_a_circle_hidden_inside_a_function(tmp_path):
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def late():\n    from a import thing\n")
    modules = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    graph = {module: _imports(module, path, modules) for module, path in modules.items()}
    assert _circles(graph) == [["a", "b"]]


def test_no_module_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules().values()
        if (lines := len(path.read_text().splitlines())) > LONGEST
        and str(path.relative_to(ROOT)) not in LONG_BY_NATURE
    }
    assert long == {}
