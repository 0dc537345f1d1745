"""Time the import of N households (default 1,000,000) through the import code path, split into
read (file, text, CRS), checks (parsing in Python, then place and duplicates in PostGIS) and
write (binary COPY into staging, then the insert into the layer with its triggers and indexes).

Usage: .venv/bin/python bench/imports.py [N]
Uses the local PostGIS (or AGRIMAP_BENCH_DATABASE_URL) and a database of its own, agrimap_bench.
The households carry no village column (as provinces ship them): each is placed in the village
holding it, one of 1,200 villages (12 communes of 100) laid over the area.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

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


# 12 communes (4 x 3) over 103.9–104.3 E, 22.2–22.5 N, each cut into 10 x 10 villages.
ADMIN_SQL = """
INSERT INTO province (code, name) VALUES ('15', 'Lào Cai');
INSERT INTO commune (code, name, province_code, geom)
SELECT lpad((10000 + i * 3 + j)::text, 5, '0'), 'Xã ' || (i * 3 + j), '15',
       ST_Multi(ST_MakeEnvelope(103.9 + i * 0.1, 22.2 + j * 0.1, 104.0 + i * 0.1, 22.3 + j * 0.1, 4326))
FROM generate_series(0, 3) i, generate_series(0, 2) j;
INSERT INTO village (code, name, commune_code, geom)
SELECT c.code || '-' || lpad((a * 10 + b + 1)::text, 3, '0'), 'Thôn ' || (a * 10 + b + 1), c.code,
       ST_Multi(ST_MakeEnvelope(ST_XMin(c.geom) + a * 0.01, ST_YMin(c.geom) + b * 0.01,
                                ST_XMin(c.geom) + (a + 1) * 0.01, ST_YMin(c.geom) + (b + 1) * 0.01, 4326))
FROM commune c, generate_series(0, 9) a, generate_series(0, 9) b;
"""


def admin_database(name: str) -> str:
    """A fresh database ``name`` (or AGRIMAP_BENCH_DATABASE_URL's own, whatever it is called),
    migrated and holding the benchmark's province, communes and villages; its URL."""
    base = os.environ.get("AGRIMAP_BENCH_DATABASE_URL")
    if base:
        server, name = base.rsplit("/", 1)
        admin, url = server + "/postgres", base
    else:
        cluster = localpg.start(databases=())
        admin, url = cluster.url("postgres"), cluster.url(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        for stmt in ADMIN_SQL.split(";\n"):
            if stmt.strip():
                conn.execute(stmt)
        conn.commit()
    return url


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    url = admin_database("agrimap_bench")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "households.csv"
        t0 = time.perf_counter()
        write_csv(src, n)
        print(
            f"wrote {n:,} rows ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        marks: dict[str, float] = {}
        cpu: dict[str, tuple[float, float]] = {}

        with psycopg.connect(url) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in marks:
                    marks[stage] = time.perf_counter()
                    cpu[stage] = (client_cpu(), backend_cpu(backend))

            load_before = Path("/proc/loadavg").read_text().split()[:3]
            t0 = time.perf_counter()
            summary = import_file(
                conn, src, layer="households", data_dir=Path(tmp), progress=progress,
                skip_invalid=True,  # points exactly on a line between two villages
            )  # fmt: skip
            end = time.perf_counter()
            cpu["end"] = (client_cpu(), backend_cpu(backend))
            load_after = Path("/proc/loadavg").read_text().split()[:3]
            stored = conn.execute("SELECT count(*) FROM household").fetchone()[0]
            villages = conn.execute(
                "SELECT count(DISTINCT village_code) FROM household"
            ).fetchone()[0]
    spans, cpus = {}, {}
    order = sorted(marks.items(), key=lambda kv: kv[1]) + [("end", end)]
    for (name, start), (after, stop) in zip(order, order[1:], strict=False):
        spans[name] = stop - start
        cpus[name] = tuple(b - a for a, b in zip(cpu[name], cpu[after], strict=True))
    read = spans.get("read", 0.0)
    checks = spans.get("check", 0.0) + spans.get("place", 0.0)
    write = spans.get("write", 0.0) + spans.get("insert", 0.0)
    total = end - t0
    print("  " + "  ".join(f"{k} {v:.1f} s" for k, v in spans.items()))
    print(
        "  CPU (client + database backend): "
        + "  ".join(f"{k} {c:.1f} + {b:.1f} s" for k, (c, b) in cpus.items())
    )
    print(
        f"  load average before {' '.join(load_before)}, after {' '.join(load_after)} "
        f"(CPU of parallel index-build workers not counted)"
    )
    print(
        f"read {read:.1f} s · checks {checks:.1f} s (parse {spans.get('check', 0):.1f}, "
        f"place+duplicates {spans.get('place', 0):.1f}) · write {write:.1f} s "
        f"(COPY {spans.get('write', 0):.1f}, insert {spans.get('insert', 0):.1f})"
    )
    print(f"imported {summary.imported:,} households (stored {stored:,}, in {villages} villages) "
          f"in {total:.1f} s = {summary.imported / total:,.0f} rows/s; refused {len(summary.rejected)}")  # fmt: skip


def client_cpu() -> float:
    """User + system CPU seconds of this process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of the database backend ``pid`` (same machine, /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
