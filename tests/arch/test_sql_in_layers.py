"""SQL lives in layers/ (issue 12): no api module runs a statement itself, no route module
imports another (shared pieces are dependencies in api/deps.py), and page routes leave their
errors to the shared handler in api/errors.py."""

from __future__ import annotations

import ast

import pytest

from tests.arch.test_layout import ROOT

WITHOUT_SQL = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "api").rglob("*.py"))
ROUTES = sorted((ROOT / "api" / "routes").glob("*.py"))
RUNS_SQL = {"execute", "executemany", "cursor", "copy", "stream"}


@pytest.mark.parametrize("path", WITHOUT_SQL)
def test_module_runs_no_sql(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(), path)
    calls = sorted(
        f"{path}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RUNS_SQL
    )
    assert calls == []


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_no_route_module_imports_another(path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    wrong = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if (node.level == 1 and target) or target.startswith("api.routes."):
                wrong.append(f"{path.name}:{node.lineno} from {'.' * node.level}{target}")
    assert wrong == []


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_page_routes_leave_errors_to_the_shared_handler(path) -> None:
    """No route turns a refusal into an error page itself (``error.html``) or catches the whole
    error family; a form may still catch its own input mistakes to show them in the form."""
    text = path.read_text()
    tree = ast.parse(text, str(path))
    broad = {"AgriMapError", "Exception", "PermissionDenied", "NotFound", "InsufficientPrivilege"}
    caught = [
        f"{path.name}:{h.lineno}"
        for h in ast.walk(tree)
        if isinstance(h, ast.ExceptHandler)
        and h.type is not None
        and broad & {n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")
                     for n in ast.walk(h.type)}
    ]  # fmt: skip
    assert caught == [] and "error.html" not in text
