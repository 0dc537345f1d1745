"""Buffers a bbox page and a tile read, with a province partition's rows in file order (random,
as the synthetic file and many provincial files are) and in the spatial order the import now
writes (issue 18): EXPLAIN (ANALYZE, BUFFERS) of the server's own page and tile statements.

Usage: .venv/bin/python bench/spatial_order.py [N]    (default 1,000,000 households)
Imports N households with bench/imports.py's file into a database of its own
(agrimap_bench_order), then for the same rows: as imported (spatial order, by the import), after
a rewrite in random order (what an import wrote before), and after the import's own rewrite
(layers.partitions.spatially_order, the CLUSTER a big import into a non-empty partition runs).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from bench.imports import admin_database, write_csv
from layers import partitions
from layers.ingest import import_file
from layers.serving.catalog import BY_ID
from layers.serving.features import FeatureQuery, _page_sql
from layers.serving.tiles import tile_sql

BOXES = 8
BOX_DEG = 0.0187  # about 2,900 households at this density


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = math.asinh(math.tan(math.radians(lat)))
    return int((lon + 180) / 360 * n), int((1 - y / math.pi) / 2 * n)


def _explain(conn: psycopg.Connection, stmt, params) -> tuple[int, int, float]:
    """(shared buffers hit, read, ms) of one run of ``stmt``."""
    plan = conn.execute(
        psycopg.sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + stmt, params
    ).fetchone()[0]
    top = plan[0]["Plan"]
    return (
        top.get("Shared Hit Blocks", 0),
        top.get("Shared Read Blocks", 0),
        plan[0]["Execution Time"],
    )


def measure(conn: psycopg.Connection, boxes: list, tiles: list) -> dict:
    coll = BY_ID["households"]
    out = {}
    for name, runs in (
        ("bbox page (100, counted to 10,000)", [
            _page_sql(coll, FeatureQuery(limit=100, bbox=b), count=True, reltuples=False,
                      cap=10_000) for b in boxes]),
        ("tile z15", [(tile_sql([coll], 15), {"z": 15, "x": x, "y": y}) for x, y in tiles[15]]),
        ("tile z14", [(tile_sql([coll], 14), {"z": 14, "x": x, "y": y}) for x, y in tiles[14]]),
    ):  # fmt: skip
        for stmt, params in runs:  # warm the cache once: compare buffers touched, warm times
            _explain(conn, stmt, params)
        hit = read = 0
        ms = []
        for stmt, params in runs:
            h, r, t = _explain(conn, stmt, params)
            hit, read = hit + h, read + r
            ms.append(t)
        out[name] = {"buffers": (hit + read) / len(runs), "read": read / len(runs),
                     "ms_mean": float(np.mean(ms)), "ms_max": float(np.max(ms))}  # fmt: skip
    return out


def _shuffle(conn: psycopg.Connection, partition: str) -> None:
    conn.execute(f"CREATE INDEX shuffle ON {partition} (md5(id::text))")  # noqa: S608 - ours
    conn.execute(f"CLUSTER {partition} USING shuffle")
    conn.execute("DROP INDEX shuffle")
    conn.execute(f"ANALYZE {partition}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    url = admin_database("agrimap_bench_order")
    result: dict = {"households": n, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "households.csv"
        write_csv(src, n)
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            marks.setdefault(stage, time.perf_counter())

        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            summary = import_file(conn, src, layer="households", data_dir=Path(tmp),
                                  skip_invalid=True, progress=progress)  # fmt: skip
            end = time.perf_counter()
            result["import_s"] = end - t0
            order = sorted(marks.items(), key=lambda kv: kv[1]) + [("end", end)]
            result["import_stages_s"] = {
                name: stop - start
                for (name, start), (_, stop) in zip(order, order[1:], strict=False)
            }
            result["imported"] = summary.imported
    rng = np.random.default_rng(3)
    boxes = []
    for _ in range(BOXES):
        x, y = rng.uniform(103.95, 104.25), rng.uniform(22.25, 22.45)
        boxes.append((x, y, x + BOX_DEG, y + BOX_DEG))
    tiles = {z: [_tile(b[0] + BOX_DEG / 2, b[1] + BOX_DEG / 2, z) for b in boxes]
             for z in (14, 15)}  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off; SET max_parallel_workers_per_gather = 0")
        conn.execute("VACUUM ANALYZE household_p15")
        result["as imported (spatial order)"] = measure(conn, boxes, tiles)
        _shuffle(conn, "household_p15")
        result["file order (random)"] = measure(conn, boxes, tiles)
        with conn.transaction():
            t0 = time.perf_counter()
            partitions.spatially_order(conn, "household", "household_p15")
            result["reorder_s"] = time.perf_counter() - t0
        result["after the import's rewrite"] = measure(conn, boxes, tiles)
        result["partition_mb"] = conn.execute(
            "SELECT pg_total_relation_size('household_p15') / 1e6"
        ).fetchone()[0]
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
