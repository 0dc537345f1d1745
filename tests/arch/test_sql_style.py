"""One SQL style (issue 12): no statement is built with an f-string, ``%`` or ``str.format``.

Dynamic statements use psycopg's ``sql`` composition (``sql.SQL(...).format(...)`` is that, and
allowed); fixed ones are constants or ``.sql`` files. Frozen migrations are left as written.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.arch.test_layout import ROOT

SQL_WORDS = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|"
    r"DROP\s+TABLE|ALTER\s+TABLE|TRUNCATE)\b",
    re.I | re.S,
)
APP = [
    p
    for pkg in ("geo", "layers", "api", "maps", "agrimap")
    for p in sorted((ROOT / pkg).rglob("*.py"))
    if "migrations" not in p.parts
]


def _text(node: ast.AST, names: dict[str, str] | None = None) -> str:
    """The literal text of a string, f-string or module string constant (placeholders out)."""
    if isinstance(node, ast.Name) and names:
        return names.get(node.id, "")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left, names) + _text(node.right, names)
    return ""


def _is_sql_composition(node: ast.Call) -> bool:
    """``sql.SQL("...").format(...)``: psycopg quotes what it composes."""
    inner = node.func.value if isinstance(node.func, ast.Attribute) else None
    return (
        isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Attribute)
        and inner.func.attr == "SQL"
    )


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {
        t.id: _text(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and SQL_WORDS.search(_text(node)):
            if any(isinstance(v, ast.FormattedValue) for v in node.values):
                out.append(f"{node.lineno} f-string SQL")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and SQL_WORDS.search(_text(node.func.value, names))
            and not _is_sql_composition(node)
        ):
            out.append(f"{node.lineno} str.format SQL")
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and SQL_WORDS.search(_text(node.left, names))
        ):
            out.append(f"{node.lineno} %-formatted SQL")
    return sorted(out, key=lambda o: int(o.split(" ")[0]))


@pytest.mark.parametrize("path", APP, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_is_built_from_strings(path: Path) -> None:
    assert _offences(path) == []


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "t = 'x'\n"
        "a = f'SELECT * FROM {t}'\n"
        "b = 'DELETE FROM {}'.format(t)\n"
        "c = 'UPDATE x SET y = %s' % t\n"
        "Q = 'SELECT a FROM b WHERE {}'\n"
        "e = Q.format(t)\n"
        "from psycopg import sql\n"
        "d = sql.SQL('SELECT * FROM {}').format(sql.Identifier(t))\n"
    )
    found = [o.split(" ", 1)[1] for o in _offences(bad)]
    assert found == ["f-string SQL", "str.format SQL", "%-formatted SQL", "str.format SQL"]
