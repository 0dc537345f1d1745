"""Time the import of N household points (default 1,000,000) through `agrimap import` code (COPY).

Usage: .venv/bin/python bench/import_households.py [N]
Uses the local PostGIS (or AGRIMAP_BENCH_DATABASE_URL) and a database of its own, agrimap_bench.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from agrimap import localpg
from layers import migrate
from layers.ingest import import_file

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn Ước", "Thị Hằng", "Đức Thắng", "Minh Phúc", "Thị Lựu", "Quốc Việt", "Hữu Nghĩa"]


def write_csv(path: Path, n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(103.9, 104.3, n)
    lat = rng.uniform(22.2, 22.5, n)
    fam = rng.integers(0, len(FAMILY), n)
    giv = rng.integers(0, len(GIVEN), n)
    phone = rng.integers(10**8, 10**9 - 1, n)
    fibre = rng.random(n) < 0.8
    with path.open("w", encoding="utf-8") as fh:
        fh.write("ma_ho,ten_chu_ho,dien_thoai,cap_quang,lon,lat\n")
        for i in range(n):
            fh.write(
                f"B{i:08d},{FAMILY[fam[i]]} {GIVEN[giv[i]]},0{phone[i]},"
                f"{'có' if fibre[i] else 'không'},{lon[i]:.6f},{lat[i]:.6f}\n"
            )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    base = os.environ.get("AGRIMAP_BENCH_DATABASE_URL")
    if base:
        admin, url = base.rsplit("/", 1)[0] + "/postgres", base
    else:
        cluster = localpg.start(databases=())
        admin, url = cluster.url("postgres"), cluster.url("agrimap_bench")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS agrimap_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE agrimap_bench")
    migrate.upgrade(url)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "households.csv"
        t0 = time.perf_counter()
        write_csv(src, n)
        print(
            f"wrote {n:,} rows ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        stages: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            stages.setdefault(stage, time.perf_counter())

        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            summary = import_file(
                conn, src, layer="households", data_dir=Path(tmp), progress=progress
            )
            total = time.perf_counter() - t0
            stored = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    marks = sorted(stages.items(), key=lambda kv: kv[1]) + [("end", t0 + total)]
    for (name, start), (_, end) in zip(marks, marks[1:], strict=False):
        print(f"  {name:6s} {end - start:6.1f} s")
    print(f"imported {summary.imported:,} households (stored {stored:,}) in {total:.1f} s "
          f"= {summary.imported / total:,.0f} rows/s; encoding {summary.encoding}")  # fmt: skip


if __name__ == "__main__":
    main()
