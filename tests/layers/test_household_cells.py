"""household_cell (migration 0007, the z12 grid) and household_cell_z14 (0023) stay equal to the
households they count, through writes."""

from __future__ import annotations

import psycopg
from psycopg import sql

FRESH = """
SELECT floor(mx / %(cell)s)::int AS cx, floor(my / %(cell)s)::int AS cy, count(*)::int,
       count(*) FILTER (WHERE has_fibre)::int, round(sum(mx)::numeric, 3), round(sum(my)::numeric, 3)
FROM (SELECT 6378137.0 * radians(ST_X(geom)) AS mx,
             6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) AS my, has_fibre
      FROM household) p
GROUP BY 1, 2 ORDER BY 1, 2
"""
KEPT = """
SELECT cx, cy, n, n_fibre, round(sum_mx::numeric, 3), round(sum_my::numeric, 3)
FROM {table} ORDER BY 1, 2
"""
WORLD_M = 2 * 3.141592653589793 * 6378137.0
GRIDS = {"household_cell": WORLD_M / 2**18, "household_cell_z14": WORLD_M / 2**20}


def _same(conn: psycopg.Connection) -> None:
    for table, cell in GRIDS.items():
        fresh = conn.execute(FRESH, {"cell": cell}).fetchall()
        kept = conn.execute(sql.SQL(KEPT).format(table=sql.Identifier(table))).fetchall()
        assert fresh and kept == fresh, table


def test_cells_follow_inserts_moves_fibre_and_deletes(demo_url) -> None:
    with psycopg.connect(demo_url) as conn:
        _same(conn)
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        hid, vcode = conn.execute(
            "SELECT id, village_code FROM household ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, has_fibre, geom) "
            "SELECT 'TEST-CELL-' || g, 'thử', %s, commune_province(household_commune(%s)), "
            "g %% 2 = 0, ST_SetSRID(ST_MakePoint(105.9 + g * 0.01, 21.0), 4326) "
            "FROM generate_series(1, 5) g",
            (vcode, vcode),
        )
        _same(conn)
        conn.execute("UPDATE household SET label = label || '!' WHERE code LIKE 'TEST-CELL-%%'", ())
        conn.execute(
            "UPDATE household SET geom = ST_Translate(geom, 0.5, 0.5) WHERE id = %s", (hid,)
        )
        conn.execute("UPDATE household SET has_fibre = NOT has_fibre WHERE id = %s", (hid,))
        _same(conn)
        conn.execute("DELETE FROM household WHERE code LIKE 'TEST-CELL-%%'", ())
        _same(conn)
        for table in GRIDS:
            empty = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE n <= 0").format(sql.Identifier(table))
            ).fetchone()[0]
            assert empty == 0, table
        conn.rollback()  # the demo database stays as it was for the other tests
