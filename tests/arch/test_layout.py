"""The house's shape, checked from the source: which package may import which, no import
cycles (lazy imports inside functions count too), and no SQL outside layers/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("geo", "layers", "api", "maps", "agrimap")
# What each package may import of ours (besides itself). agrimap.settings is the one module of
# the top package that the server reads; the CLI sits above everything.
ALLOWED = {
    "geo": set(),
    "layers": {"geo"},
    "maps": {"geo", "layers"},
    "api": {"geo", "layers", "maps", "agrimap.settings"},
    "agrimap": {"geo", "layers", "api", "maps"},
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Our modules that ``name`` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import mod` imports the module pkg.mod when there is one
            targets = [f"{prefix}.{a.name}" for a in node.names]
            targets = [t if t in MODULES else prefix for t in targets]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_graph_is_read() -> None:
    assert len(MODULES) > 50
    assert "layers.schema" in GRAPH["layers.households"]
    assert "layers.ingest.write" in GRAPH["layers.ingest"]


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [])
    assert cycles == []


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_one_way_flow(package: str) -> None:
    allowed = ALLOWED[package]
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] != package
        and not any(target == a or target.startswith(a + ".") for a in allowed)
    )
    assert wrong == []
