"""Time coverage indicators (issue 13) on a synthetic province, side by side with a plain
PostGIS spatial join and with the per-household aggregate of household_served that the
indicators used before the per-village summary (migration 0013): households served and the
summary re-derived after a coverage import, then indicators.

Usage: .venv/bin/python bench/coverage_indicators.py [N households, default 100,000] [--reuse]
(--reuse keeps the database of an earlier run with N households: no build, no first imports;
--skip-plain leaves out the plain spatial join, 653 s at 1,000,000 households).
Uses the local PostGIS (or AGRIMAP_BENCH_DATABASE_URL) and a database of its own,
agrimap_bench_coverage. Households: 200 per village, 10 villages per commune (0.05° square).
Coverage: three operators' 4G from towers (4 km radius): one tower per commune, 0.6 and 0.3.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from agrimap import localpg
from agrimap.clicommon import run_async
from layers import migrate
from layers.coverage_indicators import (
    VILLAGES_PER_HOUSEHOLD_SQL,
    Selection,
    indicators,
    selection_params,
)
from layers.coverage_towers import import_towers
from layers.partitions import spatially_order

PER_VILLAGE = 200
ACROSS = 40  # communes per row of the synthetic province

BUILD = """
SELECT setseed(0.42), set_config('agrimap.system', 'on', true), set_config('agrimap.bulk', 'on', true);
INSERT INTO province (code, name) VALUES ('98', 'Tỉnh thử');
INSERT INTO commune (code, name, province_code, geom)
SELECT (90000 + i)::text, 'Xã ' || i, '98',
       ST_Multi(ST_MakeEnvelope(103 + 0.05 * (i %% %(across)s), 21 + 0.05 * (i / %(across)s),
                                103.05 + 0.05 * (i %% %(across)s), 21.05 + 0.05 * (i / %(across)s), 4326))
FROM generate_series(0, %(communes)s - 1) i;
INSERT INTO village (code, name, commune_code, geom)
SELECT c.code || '-' || lpad(j::text, 2, '0'), 'Thôn ' || j, c.code,
       ST_Multi(ST_MakeEnvelope(ST_XMin(c.geom) + 0.01 * (j %% 5), ST_YMin(c.geom) + 0.025 * (j / 5),
                                ST_XMin(c.geom) + 0.01 * (j %% 5 + 1), ST_YMin(c.geom) + 0.025 * (j / 5 + 1), 4326))
FROM commune c, generate_series(0, 9) j;
INSERT INTO household (code, label, village_code, province_code, has_fibre, geom)
SELECT v.code || '-' || k, 'hộ', v.code, commune_province(v.commune_code), random() < 0.8,
       ST_SetSRID(ST_MakePoint(ST_XMin(v.geom) + random() * 0.01, ST_YMin(v.geom) + random() * 0.025), 4326)
FROM village v, generate_series(1, %(per_village)s) k;
"""
PLAIN_JOIN = """
SELECT h.village_code, count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM coverage c WHERE c.technology IN ('4G', '5G') AND ST_Covers(c.geom, h.geom)))
FROM household h GROUP BY h.village_code
"""


def _timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


PLAIN_TIMEOUT_S = 900


def _reusable(url: str, n: int) -> bool:
    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM household").fetchone()[0] == n
    except psycopg.Error:
        return False


def _backend_cpu_s(conn: psycopg.Connection) -> float:
    """CPU seconds the server process of ``conn`` has used (Linux /proc; the machine is shared,
    so wall time says as much about the other loads as about ours)."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_more_import(conn: psycopg.Connection, rng, communes: int) -> tuple[float, float, float]:
    """A fourth operator's province-wide import (wall and server CPU seconds) and a full
    rebuild of the household sets and the summary, each rolled back."""
    rows = (communes + ACROSS - 1) // ACROSS
    towers = list(zip(rng.uniform(103, 103 + 0.05 * min(communes, ACROSS), communes),
                      rng.uniform(21, 21 + 0.05 * rows, communes), strict=True))  # fmt: skip
    # force_rollback: import_towers' own transaction becomes a savepoint of this one, so the
    # import is undone and a --reuse run starts from the same three operators.
    with conn.transaction(force_rollback=True):
        cpu0, t0 = _backend_cpu_s(conn), time.perf_counter()
        import_towers(conn, operator="Gmobile", technology="4G", towers=towers,
                      valid_from=dt.date(2025, 1, 1), user="bench")  # fmt: skip
        imported, cpu = time.perf_counter() - t0, _backend_cpu_s(conn) - cpu0
    with conn.transaction(force_rollback=True):
        t0 = time.perf_counter()
        conn.execute("SELECT village_coverage_refresh_all()")
        refreshed = time.perf_counter() - t0
    return imported, cpu, refreshed


def _build(admin: str, url: str, n: int, communes: int, rng) -> None:
    """A fresh database: the synthetic province and three operators' tower imports, timed."""
    with psycopg.connect(admin, autocommit=True) as conn:
        # The database named by the URL (AGRIMAP_BENCH_DATABASE_URL's own, not always ours).
        name = sql.Identifier(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        params = {"communes": communes, "across": ACROSS, "per_village": PER_VILLAGE}
        for stmt in filter(str.strip, BUILD.split(";\n")):
            conn.execute(stmt, params if "%" in stmt else None)
        # As an import of 50,000 rows or more leaves them (layers.partitions): in spatial
        # order. In the order of this INSERT, neighbours are a commune apart on disk, and a
        # coverage piece's households cost a page read each.
        spatially_order(conn, "household", "household_p98")
        conn.commit()
        conn.execute("ANALYZE")
        stored = conn.execute("SELECT count(*) FROM household").fetchone()[0]
        print(
            f"{stored:,} households in {communes} communes built in {time.perf_counter() - t0:.1f} s"
        )
        rows = (communes + ACROSS - 1) // ACROSS
        for operator, share in (("Viettel", 1.0), ("VNPT", 0.6), ("MobiFone", 0.3)):
            k = max(int(communes * share), 1)
            towers = list(zip(rng.uniform(103, 103 + 0.05 * min(communes, ACROSS), k),
                              rng.uniform(21, 21 + 0.05 * rows, k), strict=True))  # fmt: skip
            t0 = time.perf_counter()
            import_towers(conn, operator=operator, technology="4G", towers=towers,
                          valid_from=dt.date(2025, 1, 1), user="bench")  # fmt: skip
            served = conn.execute(
                "SELECT count(*) FROM household_served s JOIN coverage_version v "
                "ON v.id = s.version_id WHERE v.operator = %s",
                (operator,),
            ).fetchone()[0]
            print(f"import {operator} 4G ({k} towers) with served re-derived: "
                  f"{time.perf_counter() - t0:.2f} s, {served:,} households served")  # fmt: skip
        conn.execute("ANALYZE")
        conn.commit()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    reuse = "--reuse" in sys.argv
    communes = max(n // (PER_VILLAGE * 10), 1)
    base = os.environ.get("AGRIMAP_BENCH_DATABASE_URL")
    if base:
        admin, url = base.rsplit("/", 1)[0] + "/postgres", base
    else:
        cluster = localpg.start(databases=())
        admin, url = cluster.url("postgres"), cluster.url("agrimap_bench_coverage")
    rng = np.random.default_rng(7)
    if reuse and _reusable(url, n):
        print(f"reusing the database of {n:,} households", flush=True)
    else:
        _build(admin, url, n, communes, rng)
    with psycopg.connect(url) as conn:
        imported, cpu, refreshed = _one_more_import(conn, rng, communes)
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false)", (str(PLAIN_TIMEOUT_S * 1000),)
        )
        try:
            if "--skip-plain" in sys.argv:
                raise psycopg.errors.QueryCanceled("skipped")
            plain = _timed(
                lambda: conn.execute(PLAIN_JOIN).fetchall(), repeat=1 if n > 200_000 else 3
            )
            plain_text = f"{plain:.2f} s"
        except psycopg.errors.QueryCanceled:
            conn.rollback()
            plain_text = "skipped" if "--skip-plain" in sys.argv else f"> {PLAIN_TIMEOUT_S} s"
        sets = conn.execute("SELECT count(*) FROM village_coverage_summary").fetchone()[0]

    async def per_household(aconn):
        params = await selection_params(aconn, Selection("province", "98"))
        return await (await aconn.execute(VILLAGES_PER_HOUSEHOLD_SQL, params)).fetchall()

    before = _timed(lambda: run_async(url, per_household))
    province = _timed(lambda: run_async(url, indicators, selection=Selection("province", "98")))
    one = _timed(lambda: run_async(url, indicators, selection=Selection("commune", "90000")))
    viettel = _timed(
        lambda: run_async(url, indicators, selection=Selection("province", "98", "VNPT"))
    )
    print(f"village_coverage_summary: {sets:,} rows")
    print(f"one more province-wide import (Gmobile 4G, {communes} towers), served, household "
          f"sets and summary re-derived: {imported:.2f} s (server CPU {cpu:.2f} s); full "
          f"rebuild of the sets and the summary alone: {refreshed:.2f} s")  # fmt: skip
    print(f"plain spatial join, served per village (4G, all operators): {plain_text}")
    print(f"per-household aggregate of household_served (before 0013): {before:.2f} s")
    print(f"indicators, whole province (all operators):                {province:.2f} s")
    print(f"indicators, whole province (one operator):                 {viettel:.2f} s")
    print(f"indicators, one commune:                                   {one:.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores, shared)")


if __name__ == "__main__":
    main()
