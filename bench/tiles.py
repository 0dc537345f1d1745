"""Side-by-side benchmark of AgriMap and tipg on one PostGIS database (issue 6).

Usage: .venv/bin/python bench/tiles.py [--households 100000] [--duration 10] [--connections 16]
       (./run.sh bench runs it after installing what it needs)

1. database bench_<households> in the local cluster (or AGRIMAP_BENCH_DATABASE_URL's server),
   migrated and loaded once with synthetic data (reused while it holds that many households);
2. our server and tipg (its own venv in .cache/bench/tipg-venv), one uvicorn worker each,
   the same pool size, JIT and parallel plans off for the database;
3. seeded request lists: household tiles z10–16 over the populated area, 64 hot tiles, pages
   of 100 features by bbox and by position;
4. each list driven for --duration seconds with --connections keep-alive connections on the
   loopback (wrk with tilebench/cycle.lua, else an asyncio/httpx fallback);
5. the database floor: the same tiles as SQL in a loop on 1 and on POOL_SIZE connections;
6. a table on the terminal and bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

import httpx
import psycopg
from rich.console import Console
from tilebench import data, drive, floor, report, servers, urls

from layers.serving import tiles as our_tiles

TIPG_TILE_CAP = 10_000  # tipg's default max_features_per_tile: denser tiles are cut silently


@dataclass
class Leg:
    server: str  # "ours" or "tipg": the column a result belongs to
    instance: servers.Server
    paths: list[str]


@dataclass
class Workload:
    name: str
    legs: list[Leg]
    prewarm: bool = False  # request every path once first (fills our tile cache)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--households", type=int, default=100_000, help="e.g. 100000 or 1000000")
    p.add_argument("--provinces", type=int, default=1,
                   help="1: one province; 34: a synthetic country (with --households 10000000)")  # fmt: skip
    p.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="wrk threads (it shares the cores)")
    p.add_argument("--tiles", type=int, default=6000, help="size of the uncached tile list")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip to both")
    p.add_argument("--fresh", action="store_true", help="re-create and reload the database")
    p.add_argument("--no-floor", action="store_true", help="skip the database floor")
    p.add_argument("--only", action="append", metavar="WORKLOAD",
                   help="run only workloads whose name starts with this (repeatable), "
                        "e.g. --only 'features bbox'")  # fmt: skip
    return p.parse_args(argv)


def build_workloads(lists: urls.RequestLists, ours, ours_nocache, tipg) -> list[Workload]:
    t = lists.tiles
    return [
        Workload("tiles uncached", [
            Leg("tipg", tipg, [urls.tipg_tile(x) for x in t]),
            Leg("ours", ours_nocache, [urls.ours_tile(x) for x in t])]),
        Workload("tiles cached", [
            Leg("tipg", tipg, [urls.tipg_tile(x) for x in lists.cached]),
            Leg("ours", ours, [urls.ours_tile(x) for x in lists.cached])], prewarm=True),
        Workload("features bbox", [
            Leg("tipg", tipg, [urls.tipg_bbox_page(b) for b in lists.bboxes]),
            Leg("ours", ours, [urls.ours_bbox_page(b) for b in lists.bboxes])]),
        Workload("features by position", [
            Leg("tipg", tipg, [urls.tipg_position_page(o) for o in lists.offsets]),
            Leg("ours", ours, [urls.ours_position_page(c) for c in lists.cursors])]),
        Workload("QR lookups", [
            Leg("tipg", tipg, [urls.tipg_qr(q) for q in lists.qr_tokens]),
            Leg("ours", ours, [urls.ours_qr(q) for q in lists.qr_tokens])]),
        Workload("all-layer tiles uncached (ours only)", [
            Leg("ours", ours_nocache, [urls.ours_tile(x, all_layers=True) for x in t])]),
    ]  # fmt: skip


def run_leg(w: Workload, leg: Leg, args, header, console: Console) -> report.Outcome:
    """One server on one workload; a failure becomes a noted, empty row, not the end of the run."""
    try:
        return _measure_leg(w, leg, args, header, console)
    except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        note = f"failed: {type(exc).__name__}: {str(exc)[:300]} (log: {leg.instance.log})"
        console.print(f"  [red]{leg.instance.name}: {note}[/]")
        return report.Outcome(w.name, leg.server, leg.instance.name, None, note)


def _measure_leg(w: Workload, leg: Leg, args, header, console: Console) -> report.Outcome:
    statuses = drive.fetch_once(leg.instance.base, leg.paths[:3], header)
    if any(s != 200 for s in statuses):
        note = f"skipped: {leg.paths[0]} answered {statuses}"
        if 404 in statuses and leg.server == "ours":
            note += " (our endpoint is not there yet?)"
        console.print(f"  [yellow]{leg.instance.name}: {note}[/]")
        return report.Outcome(w.name, leg.server, leg.instance.name, None, note)
    if w.prewarm:
        drive.fetch_once(leg.instance.base, leg.paths, header)
    load = {"connections": args.connections, "threads": args.threads, "header": header}
    drive.run(leg.instance.base, leg.paths, duration=max(1.0, args.duration / 5), **load)
    result = drive.run(leg.instance.base, leg.paths, duration=args.duration, **load)
    console.print(f"  {leg.instance.name:13s} {result.rps:8,.0f} req/s  p50 {result.p50_ms:7.1f} ms"
                  f"  p99 {result.p99_ms:7.1f} ms  {result.mean_body_bytes:9,.0f} B")  # fmt: skip
    return report.Outcome(w.name, leg.server, leg.instance.name, result)


def run_floors(url: str, lists: urls.RequestLists, args, console: Console, notes: list[str]):
    results = []
    for query in floor.QUERIES:
        for conns in (1, servers.POOL_SIZE):
            try:
                f = floor.measure(url, query, lists.tiles, duration=args.duration,
                                  connections=conns)  # fmt: skip
            except (psycopg.Error, TypeError, AttributeError) as exc:  # our tile SQL changed
                notes.append(f"floor '{query}' failed and was skipped: {exc}")
                console.print(f"  [yellow]{query}: {exc}[/]")
                break
            console.print(f"  {query:14s} ×{conns:<2d} {f.tiles_per_s:8,.0f} tiles/s  "
                          f"{f.ms_per_tile:6.2f} ms/tile  {f.mean_bytes:9,.0f} B")  # fmt: skip
            results.append(f)
    return results


def coverage_notes(w: Workload, outcomes: list[report.Outcome], duration: float) -> list[str]:
    """Say so when a run did not get through its list once: the servers then answered
    different mixes of requests (both walk the list in the same order from its start)."""
    short = [
        (o, len(leg.paths))
        for o, leg in zip(outcomes, w.legs, strict=True)
        if o.result and o.result.requests < len(leg.paths)
    ]
    if not short:
        return []
    o, n = min(short, key=lambda p: p[0].result.requests / p[1])
    if not o.result.requests:  # not one answer within the run (wrk counts completed ones)
        return [f"{w.name}: {o.instance} completed none of {n:,} requests in {duration:g} s "
                "(each took longer than the run)"]  # fmt: skip
    return [
        f"{w.name}: {o.instance} got through {o.result.requests:,} of {n:,} requests in "
        f"{duration:g} s, so the servers answered different parts of the list; "
        f"--duration {n / o.result.rps:.0f} or more covers it"
    ]


def list_notes(lists: urls.RequestLists) -> list[str]:
    dense = [t for t in lists.tiles if t.households > TIPG_TILE_CAP]
    notes = [f"uncached list: {len(lists.tiles):,} distinct populated tiles by zoom "
             f"{lists.zoom_counts} (low zooms hold few tiles, so they are under-weighted)"]  # fmt: skip
    if dense:
        notes.append(
            f"{len(dense)} tiles of the uncached list hold more than {TIPG_TILE_CAP:,} households "
            f"(densest {max(t.households for t in dense):,}): tipg cuts them at its "
            f"max_features_per_tile without saying so (ours clusters households below "
            f"z{our_tiles.CLUSTER_BELOW_ZOOM}, and at z{our_tiles.CLUSTER_BELOW_ZOOM}–"
            f"{our_tiles.DENSITY_CHECK_BELOW_ZOOM - 1} when a tile holds more than "
            f"{our_tiles.POINT_BUDGET:,}, and caps a tile at {our_tiles.MAX_FEATURES:,} "
            f"features with an X-AgriMap-Truncated header)"
        )
    return notes


def busy_note(when: str) -> list[str]:
    """The 1-minute load average: on a 2-core machine anything else running skews the run."""
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load < cpus:  # the average lags: a finished job still shows for a minute or two
        return []
    return [f"the machine was busy {when} (1-minute load average {load:.1f} on {cpus} cores): "
            "other work shared the cores, so this run's numbers are noisy"]  # fmt: skip


def run(args, console: Console) -> report.Report:
    load_at_start, before = os.getloadavg()[0], busy_note("before the run")
    db = data.prepare(args.households, provinces=args.provinces, fresh=args.fresh,
                      say=console.print)  # fmt: skip
    lists = urls.build(db.url, seed=args.seed, tiles=args.tiles)
    tipg_python = servers.ensure_tipg(say=console.print)
    header = ("Accept-Encoding", "gzip") if args.gzip else ("Accept-Encoding", "identity")
    rep = report.Report(
        config={k: v for k, v in vars(args).items()} | {"pool_size": servers.POOL_SIZE},
        environment={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tipg": servers.tipg_version(tipg_python),
            "driver": "wrk" if drive.wrk_path() else "httpx",
            "load_average_at_start": load_at_start,
            **data.server_versions(db.url),
        },
        data={
            "database": db.name,
            "counts": db.counts,
            "loaded_now": db.loaded_now,
            "load_seconds": db.load_seconds,
        },
        lists={
            "tiles": len(lists.tiles),
            "zoom_counts": lists.zoom_counts,
            "cached": len(lists.cached),
            "bboxes": len(lists.bboxes),
            "offsets": len(lists.offsets),
            "qr_tokens": len(lists.qr_tokens),
        },
        notes=before + list_notes(lists),
    )
    if not drive.wrk_path():
        rep.notes.append("wrk is not installed: the asyncio/httpx driver ran instead; the Python "
                         "client saturates first and shares the cores with the servers, so it "
                         "flattens fast servers: neither numbers nor ratios compare with wrk runs "
                         "(apt-get install wrk)")  # fmt: skip
    rep.notes.append(f"both servers: uvicorn {' '.join(servers.UVICORN_FLAGS)}, one worker, "
                     f"a pool of {servers.POOL_SIZE} connections")  # fmt: skip
    rep.notes.append("tipg has no tile cache: its 'tiles cached' row makes the same 64 tiles "
                     "again and again (the database's buffers are warm for both servers)")  # fmt: skip
    rep.notes.append("our uncached runs use a second instance of our server with "
                     "AGRIMAP_TILE_CACHE_MB=0: its tile cache is keyed by layer and tile, not by "
                     "URL, so a query-string cache-buster would not make misses")  # fmt: skip
    logdir = servers.CACHE / "logs" / datetime.now().strftime("%Y%m%dT%H%M%S")
    logdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        console.print("starting the servers …")
        tipg = servers.started(stack, servers.start_tipg(tipg_python, db.url, logdir))
        ours = servers.started(stack, servers.start_ours("ours", db.url, logdir))
        nocache = servers.started(stack, servers.start_ours(
            "ours-nocache", db.url, logdir, AGRIMAP_TILE_CACHE_MB="0"))  # fmt: skip
        for w in build_workloads(lists, ours, nocache, tipg):
            if args.only and not any(w.name.startswith(o) for o in args.only):
                continue
            console.print(f"[bold]{w.name}[/]")
            outcomes = [run_leg(w, leg, args, header, console) for leg in w.legs]
            rep.outcomes += outcomes
            rep.notes += coverage_notes(w, outcomes, args.duration)
    if not args.no_floor:
        console.print("[bold]database floor[/]")
        rep.floors = run_floors(db.url, lists, args, console, rep.notes)
    return rep


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=150)
    t0 = time.perf_counter()
    try:
        rep = run(args, console)
    except (servers.ServerError, psycopg.Error, RuntimeError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        console.print(f"total time {time.perf_counter() - t0:.0f} s")
        return 1
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: the servers are stopped")
        return 130
    rep.seconds = time.perf_counter() - t0
    report.show(rep, console)
    console.print(f"results written to {report.save(rep)}")
    console.print(f"total time {rep.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
