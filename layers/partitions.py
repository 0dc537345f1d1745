"""Province partitions of households and growing areas (phân vùng theo tỉnh) and the audit log's
month partitions: which partitions an import writes, their rows in spatial order, the months
made ahead (migration 0015 holds the schema)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

# The tables partitioned by province, and the key that orders a partition's rows in space: a
# geohash (Z-order) of the point, of the area's centroid. The import's move statements
# (ingest/sql/*.sql) write new rows in the same order. Geohashes are digits and lower-case
# letters, in the same order bytewise as in any collation: sorted bytewise (COLLATE "C", with
# abbreviated keys) a million of them take 1 s of CPU instead of 2.5 s through the database's.
PARTITIONED = {
    "household": 'ST_GeoHash(geom, 10) COLLATE "C"',
    "growing_area": 'ST_GeoHash(ST_Centroid(geom), 10) COLLATE "C"',
}

# After an import of at least this many rows into a partition that already held rows, the import
# rewrites the partition in spatial order (CLUSTER). Into an empty partition the rows are written
# in that order already.
REORDER_FROM = 50_000

_WRITTEN = """
SELECT agrimap_partition_name(%(parent)s, c.province_code), count(*)
FROM staging s LEFT JOIN commune c ON c.code = s.commune_code
GROUP BY 1 ORDER BY 1
"""

_STORED = """
SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::bigint END FROM pg_class c
WHERE c.oid = %s::regclass
"""


@dataclass(frozen=True)
class Written:
    """One partition an import writes into: its name, rows coming, rows it held before."""

    partition: str
    incoming: int
    stored: int


def written_partitions(conn: psycopg.Connection, parent: str) -> list[Written]:
    """The partitions the staged rows go to (each made if missing), with their sizes."""
    out = []
    for partition, incoming in conn.execute(_WRITTEN, {"parent": parent}).fetchall():
        province = partition.removeprefix(f"{parent}_p")
        conn.execute(
            "SELECT agrimap_province_partition(%s, %s)",
            (parent, None if province == "none" else province),
        )
        stored = conn.execute(_STORED, (partition,)).fetchone()[0]
        if stored is None:  # empty, or never vacuumed nor analysed since it filled: count it
            stored = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(partition))
            ).fetchone()[0]
        out.append(Written(partition, incoming, stored))
    return out


def spatially_order(conn: psycopg.Connection, parent: str, partition: str) -> None:
    """Rewrite one partition in spatial order (CLUSTER on a geohash index made for it and dropped
    after), then ANALYZE it. Locks that partition only, until the transaction ends."""
    key = PARTITIONED[parent]
    index = sql.Identifier(f"{partition}_spatial_order")
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    # The key expression is ours (PARTITIONED), not input.
    conn.execute(
        sql.SQL("CREATE INDEX {} ON {} ({})").format(index, sql.Identifier(partition), sql.SQL(key))
    )
    conn.execute(sql.SQL("CLUSTER {} USING {}").format(sql.Identifier(partition), index))
    conn.execute(sql.SQL("DROP INDEX {}").format(index))
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(partition)))


def partition_files(conn: psycopg.Connection, parent: str) -> dict[str, int]:
    """Each partition and index of ``parent`` with its file number (relfilenode): what a
    rewrite or a rebuild changes."""
    rows = conn.execute(
        "SELECT c.relname, c.relfilenode FROM pg_partition_tree(%s::regclass) t "
        "JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf "
        "UNION ALL "
        "SELECT i.relname, i.relfilenode FROM pg_partition_tree(%s::regclass) t "
        "JOIN pg_index x ON x.indrelid = t.relid JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE t.isleaf",
        (parent, parent),
    ).fetchall()
    return dict(rows)


def add_audit_months(conn: psycopg.Connection, *, ahead: int = 12) -> int:
    """Make the audit log's month partitions from this month to ``ahead`` months on (in its own
    transaction: the audit log is locked while a partition is made); how many were made."""
    with conn.transaction():
        return conn.execute("SELECT audit_log_add_months(%s)", (ahead,)).fetchone()[0]


def refresh_extents(conn: psycopg.Connection) -> int:
    """Recompute each province partition's extent from its rows (``partition_extent``, which
    writes only grow: after deletes or moves it may be larger than needed); how many partitions
    hold rows."""
    with conn.transaction():
        conn.execute("SELECT partition_extent_refresh()")
        return conn.execute("SELECT count(*) FROM partition_extent").fetchone()[0]


async def add_audit_months_async(conn: psycopg.AsyncConnection, *, ahead: int = 12) -> int:
    """The same for the server at start-up."""
    async with conn.transaction():
        cur = await conn.execute("SELECT audit_log_add_months(%s)", (ahead,))
        return (await cur.fetchone())[0]
