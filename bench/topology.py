"""The topology's throughput against one server process (issue 18), on the tile benchmark's
database: the same request lists driven at one process directly and at Varnish in front of
``--processes`` processes (api/varnish.vcl: tiles stored, revalidated with our ETags).

Usage: .venv/bin/python bench/topology.py [--households 1000000] [--provinces 1] [--duration 10]

Workloads (each leg warmed up first, then measured for --duration seconds, wrk on the loopback):
- tiles uncached: the servers' tile caches off (AGRIMAP_TILE_CACHE_MB=0), so every request,
  revalidation or not, makes the tile in PostGIS;
- tiles cached: the 64 hot tiles, caches on (Varnish revalidates each with a backend's 304);
- features bbox and QR lookups: answered by the server processes (Varnish passes them on).
Reads all go to the one primary here: a replica on the same two cores adds no capacity, and its
correctness (positions, lag fallback) is tested in tests/cluster/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tilebench import data, drive, servers, urls

from agrimap import topology


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--households", type=int, default=1_000_000)
    p.add_argument("--provinces", type=int, default=1)
    p.add_argument("--processes", type=int, default=2, help="server processes behind Varnish")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--tiles", type=int, default=6000)
    p.add_argument("--seed", type=int, default=6)
    return p.parse_args(argv)


def _front(stack: ExitStack, backends: list[servers.Server], folder: Path) -> str:
    ports = [int(b.base.rsplit(":", 1)[1]) for b in backends]
    cache = topology.start_varnish(servers.free_port(), ports, folder)
    stack.callback(cache.stop)
    return f"http://127.0.0.1:{cache.port}"


def _measure(base: str, paths: list[str], args) -> drive.RunResult:
    load = {"connections": args.connections, "threads": 1,
            "header": ("Accept-Encoding", "identity")}  # fmt: skip
    drive.fetch_once(base, paths[:200], load["header"])
    drive.run(base, paths, duration=max(1.0, args.duration / 5), **load)
    return drive.run(base, paths, duration=args.duration, **load)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=150)
    if not drive.wrk_path():
        console.print("[red]wrk is not installed[/] (./run.sh bench installs it)")
        return 1
    db = data.prepare(args.households, provinces=args.provinces, say=console.print)
    lists = urls.build(db.url, seed=args.seed, tiles=args.tiles)
    logdir = servers.CACHE / "logs" / ("topology-" + datetime.now().strftime("%Y%m%dT%H%M%S"))
    logdir.mkdir(parents=True, exist_ok=True)
    workloads = {
        "tiles uncached": [urls.ours_tile(t) for t in lists.tiles],
        "tiles cached": [urls.ours_tile(t) for t in lists.cached],
        "features bbox": [urls.ours_bbox_page(b) for b in lists.bboxes],
        "QR lookups": [urls.ours_qr(q) for q in lists.qr_tokens],
    }
    rows: list[dict] = []
    load_start = os.getloadavg()[0]
    with ExitStack() as stack:
        n = args.processes

        def procs(name: str, count: int, **env: str) -> list[servers.Server]:
            return [
                servers.started(stack, servers.start_ours(f"{name}{i}", db.url, logdir, **env))
                for i in range(count)
            ]

        console.print(f"starting 1 + {n} server processes with and without tile caches …")
        cached, nocache = procs("one", 1), procs("one-nocache", 1, AGRIMAP_TILE_CACHE_MB="0")
        cached_n = procs("front", n)
        nocache_n = procs("front-nocache", n, AGRIMAP_TILE_CACHE_MB="0")
        front = _front(stack, cached_n, logdir / "varnish")  # readable by varnishd's user
        front_nocache = _front(stack, nocache_n, logdir / "varnish-nocache")
        for name, paths in workloads.items():
            uncached = name == "tiles uncached"
            legs = [
                ("one process", (nocache if uncached else cached)[0].base),
                (f"Varnish + {n} processes", front_nocache if uncached else front),
            ]
            results = {}
            for leg, base in legs:
                r = _measure(base, paths, args)
                results[leg] = r
                console.print(f"{name:15s} {leg:22s} {r.rps:8,.0f} req/s  p50 {r.p50_ms:6.1f} ms"
                              f"  p99 {r.p99_ms:7.1f} ms  non-2xx {r.non2xx}, socket errors {r.socket_errors}")  # fmt: skip
            one, many = results["one process"], results[f"Varnish + {n} processes"]
            rows.append({"workload": name, "one": one.as_dict(), "front": many.as_dict(),
                         "ratio": many.rps / one.rps if one.rps else None})  # fmt: skip
    table = Table(title=f"{db.name}: Varnish + {args.processes} processes vs one process")
    for col in ("workload", "one req/s", "one p99 ms", "front req/s", "front p99 ms", "×"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["workload"], f"{r['one']['rps']:,.0f}", f"{r['one']['p99_ms']:.1f}",
                      f"{r['front']['rps']:,.0f}", f"{r['front']['p99_ms']:.1f}",
                      f"{r['ratio']:.2f}" if r["ratio"] else "–")  # fmt: skip
    console.print(table)
    out = Path(__file__).parent / "results" / f"topology-{datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"database": db.name, "counts": db.counts, "args": vars(args),
                               "load_average_at_start": load_start,
                               "load_average_at_end": os.getloadavg()[0], "rows": rows,
                               "at": time.time()}, indent=1))  # fmt: skip
    console.print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
