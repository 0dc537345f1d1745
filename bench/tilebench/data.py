"""The benchmark database: bench_<n> in the local cluster (or AGRIMAP_BENCH_DATABASE_URL's
server), migrated to head and loaded with synthetic data by one set-based SQL script."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from agrimap import localpg
from layers import migrate, partitions

SYNTHETIC_SQL = Path(__file__).with_name("synthetic.sql")
COUNTED = ("province", "commune", "village", "household", "growing_area", "soil_zone", "coverage")
# Both servers get the same planner settings: on 2 cores JIT and parallel plans made the
# tile SQL several times slower (issue 6), and a remote server may have them on.
DATABASE_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0"}


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    name: str
    counts: dict[str, int]
    loaded_now: bool
    load_seconds: float


def database_urls(name: str) -> tuple[str, str]:
    """(admin URL, URL of ``name``) on the bench server: AGRIMAP_BENCH_DATABASE_URL's or ours."""
    base = os.environ.get("AGRIMAP_BENCH_DATABASE_URL")
    if base:
        server = base.rsplit("/", 1)[0]
        return server + "/postgres", f"{server}/{name}"
    cluster = localpg.start(databases=())
    return cluster.url("postgres"), cluster.url(name)


def _exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _apply_settings(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for key, value in DATABASE_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(key), sql.Literal(value)
                )
            )


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))
            ).fetchone()[0]
            for t in COUNTED
        }


def _is_loaded(counts: dict[str, int], households: int, provinces: int) -> bool:
    return (
        counts["household"] == households
        and counts["province"] == provinces
        and all(counts[t] > 0 for t in COUNTED)
    )


def database_name(households: int, provinces: int = 1) -> str:
    """bench_1000000 for a province, bench_10000000_p34 for a synthetic country."""
    return f"bench_{households}" + (f"_p{provinces}" if provinces != 1 else "")


def load_synthetic(url: str, *, households: int, provinces: int = 1, seed: float = 0.42) -> None:
    """Run synthetic.sql in one transaction, then VACUUM ANALYZE (autocommit, outside it)."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('bench.households', %s, false), "
                     "set_config('bench.provinces', %s, false), "
                     "set_config('bench.seed', %s, false)",
                     (str(households), str(provinces), str(seed)))  # fmt: skip
        conn.execute(SYNTHETIC_SQL.read_text(encoding="utf-8"))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def spatially_order(url: str, say=print) -> float:
    """Rewrite every household and growing-area partition in spatial order, as the import leaves
    them (``layers.partitions.spatially_order``), once per database (``bench_state`` remembers);
    the seconds it took (0 when already done). The synthetic script writes rows in the order it
    makes them, which no stored province has."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_state (key text PRIMARY KEY)")
        if conn.execute("SELECT 1 FROM bench_state WHERE key = 'spatial order'").fetchone():
            return 0.0
        t0 = time.perf_counter()
        for parent in partitions.PARTITIONED:
            for (part,) in conn.execute(
                "SELECT relid::regclass::text FROM pg_partition_tree(%s) WHERE isleaf", (parent,)
            ).fetchall():
                partitions.spatially_order(conn, parent, part)
        conn.execute("INSERT INTO bench_state VALUES ('spatial order')")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:  # visibility maps of the new files
        for parent in partitions.PARTITIONED:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(parent)))
    seconds = time.perf_counter() - t0
    say(f"partitions rewritten in spatial order in {seconds:.1f} s")
    return seconds


def prepare(
    households: int, *, provinces: int = 1, fresh: bool = False, say=print
) -> BenchDatabase:
    """Make the bench database ready: migrated, loaded once (kept between runs), analysed."""
    name = database_name(households, provinces)
    admin_url, url = database_urls(name)
    if fresh or not _exists(admin_url, name):
        _recreate(admin_url, name)
    migrate.upgrade(url)
    _apply_settings(admin_url, name)
    counts = table_counts(url)
    if _is_loaded(counts, households, provinces):
        say(f"database {name} already holds {households:,} households: reusing it")
        return BenchDatabase(url, name, counts, False, spatially_order(url, say))
    if counts["household"] or counts["commune"]:
        say(f"database {name} holds other data: re-creating it")
        _recreate(admin_url, name)
        migrate.upgrade(url)
        _apply_settings(admin_url, name)
    say(f"loading {households:,} synthetic households in {provinces} province(s) into {name} …")
    t0 = time.perf_counter()
    load_synthetic(url, households=households, provinces=provinces)
    seconds = time.perf_counter() - t0
    seconds += spatially_order(url, say)
    counts = table_counts(url)
    say(f"loaded in {seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return BenchDatabase(url, name, counts, True, seconds)


def server_versions(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    return {"postgresql": pg, "postgis": postgis}
