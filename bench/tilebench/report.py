"""The printed tables (rich) and the JSON results file of one benchmark run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .drive import RunResult
from .floor import FloorResult

RESULTS = Path(__file__).resolve().parents[1] / "results"

# Issue 18's targets (issue 6's were 2× / p99 0.5, 10×, 3×, 3×; 25 % over either floor):
# workload -> (minimum ours/tipg requests/s, maximum ours/tipg p99).
TARGETS = {
    "tiles uncached": (5.0, 0.25),
    "tiles cached": (50.0, None),
    "features bbox": (5.0, None),
    "features by position": (3.0, None),
}
# Time per uncached tile at most this much above our own tile SQL on a pool's connections.
FLOOR_OVERHEAD_TARGET = 0.10
FLOOR_OF_TARGET = "our tile SQL"


@dataclass
class Outcome:
    workload: str
    server: str  # "ours" or "tipg"
    instance: str  # the process that served it (ours with or without its tile cache)
    result: RunResult | None
    note: str = ""


@dataclass
class Report:
    config: dict
    environment: dict
    data: dict
    lists: dict
    outcomes: list[Outcome] = field(default_factory=list)
    floors: list[FloorResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def _ratio(report: Report, workload: str) -> tuple[float | None, float | None]:
    got = {o.server: o.result for o in report.outcomes if o.workload == workload and o.result}
    ours, tipg = got.get("ours"), got.get("tipg")
    if not ours or not tipg or not tipg.rps:
        return None, None
    return ours.rps / tipg.rps, (ours.p99_ms / tipg.p99_ms if tipg.p99_ms else None)


def runs_table(report: Report) -> Table:
    table = Table(title="Servers × workloads (same database, 1 worker each, same load)")
    for col in ("workload", "server", "req/s", "p50 ms", "p99 ms", "mean bytes", "errors",
                "ours/tipg req/s", "ours/tipg p99", "target"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("workload", "server") else "right")
    for o in report.outcomes:
        r = o.result
        rps_ratio, p99_ratio = _ratio(report, o.workload) if o.server == "ours" else (None, None)
        target = ""
        if o.server == "ours" and o.workload in TARGETS and rps_ratio is not None:
            want_rps, want_p99 = TARGETS[o.workload]
            ok = rps_ratio >= want_rps and (want_p99 is None or (p99_ratio or 9) <= want_p99)
            target = (
                ("[green]met[/]" if ok else "[red]missed[/]")
                + f" (≥{want_rps:g}×"
                + (f", p99 ≤{want_p99:g}×)" if want_p99 else ")")
            )
        if r is None:
            table.add_row(o.workload, o.instance, "–", "–", "–", "–", "–", "", "", o.note)
            continue
        errors = (
            f"{r.non2xx} non-2xx, {r.socket_errors} sock" if r.non2xx or r.socket_errors else "0"
        )
        table.add_row(o.workload, o.instance, f"{r.rps:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
                      f"{r.mean_body_bytes:,.0f}", errors, _fmt(rps_ratio, ".2f") + ("×" if rps_ratio else ""),
                      _fmt(p99_ratio, ".2f"), target)  # fmt: skip
    return table


def floors_table(report: Report) -> Table:
    table = Table(
        title="Database floor: the uncached tile list as SQL in a loop (psycopg, no HTTP)"
    )
    for col in ("query", "connections", "tiles/s", "ms per tile", "mean bytes"):
        table.add_column(col, justify="left" if col == "query" else "right")
    for f in report.floors:
        table.add_row(f.query, str(f.connections), f"{f.tiles_per_s:,.0f}", f"{f.ms_per_tile:.2f}",
                      f"{f.mean_bytes:,.0f}")  # fmt: skip
    return table


def overheads(report: Report) -> list[dict]:
    """Each server's time per uncached tile above each floor, from throughputs at saturation:
    (1/server req/s) / (1/floor tiles/s) − 1."""
    rows = []
    for o in report.outcomes:
        if o.workload != "tiles uncached" or not o.result or not o.result.rps:
            continue
        for f in report.floors:
            if not f.tiles_per_s:
                continue
            rows.append({"server": o.server, "floor": f.query, "connections": f.connections,
                         "server_ms": 1000 / o.result.rps, "floor_ms": 1000 / f.tiles_per_s,
                         "overhead": f.tiles_per_s / o.result.rps - 1})  # fmt: skip
    return rows


def overhead_table(report: Report) -> Table:
    """One row per server, one column per floor: time per uncached tile above that floor."""
    rows = overheads(report)
    floors = list(dict.fromkeys((r["floor"], r["connections"]) for r in rows))
    table = Table(title="Time per uncached household tile above the database floor "
                        "(from throughputs: server 1/req/s vs floor 1/tiles/s)")  # fmt: skip
    table.add_column("server")
    table.add_column("ms/tile", justify="right")
    for name, conns in floors:
        table.add_column(f"vs {name} ×{conns}", justify="right")
    table.add_column(f"target (≤{FLOOR_OVERHEAD_TARGET:.0%} vs {FLOOR_OF_TARGET} ×pool)",
                     justify="right")  # fmt: skip
    for server in dict.fromkeys(r["server"] for r in rows):
        mine = {(r["floor"], r["connections"]): r for r in rows if r["server"] == server}
        cells = [f"{100 * mine[f]['overhead']:+.0f} %" if f in mine else "–" for f in floors]
        pooled = [r["overhead"] for k, r in mine.items() if k[1] > 1 and k[0] == FLOOR_OF_TARGET]
        target = ""
        if server == "ours" and pooled:
            ok = max(pooled) <= FLOOR_OVERHEAD_TARGET
            target = "[green]met[/]" if ok else "[red]missed[/]"
        ms = next(iter(mine.values()))["server_ms"]
        table.add_row(server, f"{ms:.2f}", *cells, target)
    return table


def show(report: Report, console: Console) -> None:
    console.print(runs_table(report))
    if report.floors:
        console.print(floors_table(report))
    if overheads(report):
        console.print(overhead_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")


def save(report: Report) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
    doc = {
        "config": report.config,
        "environment": report.environment,
        "data": report.data,
        "lists": report.lists,
        "runs": [
            {
                "workload": o.workload,
                "server": o.server,
                "instance": o.instance,
                "note": o.note,
                **(o.result.as_dict() if o.result else {}),
            }
            for o in report.outcomes
        ],
        "ratios": {
            w: dict(zip(("rps", "p99"), _ratio(report, w), strict=True))
            for w in dict.fromkeys(o.workload for o in report.outcomes)
        },
        "floors": [f.as_dict() for f in report.floors],
        "overheads": overheads(report),
        "notes": report.notes,
        "seconds": report.seconds,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
