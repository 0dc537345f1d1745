"""CPU work leaves the event loop through one door (issue 17): ``layers.offload.in_worker``,
bounded by AGRIMAP_WORKER_THREADS. A bare ``asyncio.to_thread`` or ``run_in_threadpool`` takes
a thread of its own pool, beside the bound, so heavy requests would again crowd the cores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.arch.test_layout import ROOT

UNBOUNDED = {"to_thread", "run_in_threadpool", "run_in_executor"}
SOURCES = sorted(
    str(p.relative_to(ROOT))
    for package in ("api", "layers", "maps", "geo")
    for p in (ROOT / package).rglob("*.py")
    if p.name != "offload.py"
)


def unbounded_calls(path: Path, source: str) -> list[str]:
    tree = ast.parse(source, str(path))
    return sorted(
        f"{path}:{node.lineno} {name}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (name := getattr(node.func, "attr", getattr(node.func, "id", None))) in UNBOUNDED
    )


@pytest.mark.parametrize("path", SOURCES)
def test_cpu_work_goes_through_the_bounded_worker(path: str) -> None:
    assert unbounded_calls(Path(path), (ROOT / path).read_text()) == []


def test_the_check_finds_what_it_forbids() -> None:
    source = "import asyncio\nasync def f(g):\n    return await asyncio.to_thread(g)\n"
    assert unbounded_calls(Path("x.py"), source) == ["x.py:3 to_thread()"]
