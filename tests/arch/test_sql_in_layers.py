"""SQL lives in layers/: the api modules listed here run no statement themselves (issue 12).
A module joins the list once its queries have moved."""

from __future__ import annotations

import ast

import pytest

from tests.arch.test_layout import ROOT

WITHOUT_SQL = ("api/auth.py", "api/routes/auth.py", "api/routes/admin.py", "api/routes/qr.py")
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
