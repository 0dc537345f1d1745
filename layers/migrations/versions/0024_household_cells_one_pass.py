"""New households' cells counted in one pass over the rows, and written without the conflict
check when the import holds the cell tables.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

Two statement triggers kept the cell tables on INSERT (0007: household_cell, 0023:
household_cell_z14). Each read the new rows, computed every row's Web Mercator position and
grouped them, then wrote its cells with ``INSERT … ON CONFLICT DO UPDATE``. At 1,000,000
households (a province's first import) that was 4.2 s of the import: the positions computed
twice, and 657,191 z14 cells written with a speculative insertion each (1.9 s, where a plain
INSERT takes 1.0 s).

One INSERT trigger now does both grids. By default it runs 0007's statement, then 0023's (as
the two triggers did, in that order, so row locks are taken as before). When the transaction
holds both cell tables in EXCLUSIVE mode (no other writer; readers go on) and says so with
``agrimap.cells_exclusive``, it computes the positions once and groups both grids in one scan
(``GROUPING SETS``); the z14 cells go in with a plain INSERT when no stored cell lies in their
box (a province's first load: no conflict is possible while the table is held), else with the
same upsert as before. A province's first bulk import takes that lock (layers/ingest/write.py)
when it already holds household_key exclusively (its keys rebuilt after the move), so no writer
waits for it that would not wait anyway. The setting alone does nothing: the trigger checks the
locks.
The UPDATE, DELETE and TRUNCATE triggers are 0007's and 0023's, unchanged.

**The key table's rows unsorted while its keys are rebuilt.** layer_keys_apply() (0015, 0020)
sorts a household INSERT's keys by token so that the unique index grows at its right edge. A
first load drops that index and builds it after the move: then the rows go in as they come
(the sort was 0.6 s of a million-row import).

**Extents from one box per province.** partition_extent_grow() (0021) took four aggregates of
``ST_XMin(geom)`` … per province, each building the row's box again: 0.6 s for a million new
households. ``ST_Extent`` builds each box once (0.2 s). For points the box is the point's
exact coordinates; a polygon's is its stored box (single precision, rounded outward), at most a
few centimetres larger than the exact one: the extent still holds every row, which is all its
readers need (a larger box costs at most a wasted probe).
"""

from alembic import op

from layers.migrations import sibling

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

Z12 = sibling("0007_household_cells.py")
Z14 = sibling("0023_household_cells_z14.py")
EXTENTS = sibling("0021_partition_extent.py")
BULK_TRIGGERS = sibling("0020_bulk_insert_triggers.py")

# Both grids' sums from one scan of the new rows: z is the grid (12: household_cell, 14:
# household_cell_z14), the sums those of 0007/0023's APPLY for rows of sign 1.
GROUPED = f"""
SELECT CASE WHEN GROUPING(q.cx14) = 0 THEN 14 ELSE 12 END AS z,
       coalesce(q.cx14, q.cx12) AS cx, coalesce(q.cy14, q.cy12) AS cy,
       count(*)::int AS n, (count(*) FILTER (WHERE q.has_fibre))::int AS f,
       sum(q.mx) AS sx, sum(q.my) AS sy
FROM (SELECT floor(p.mx / {Z14.CELL_M!r})::int AS cx14, floor(p.my / {Z14.CELL_M!r})::int AS cy14,
             floor(p.mx / {Z12.CELL_M!r})::int AS cx12, floor(p.my / {Z12.CELL_M!r})::int AS cy12,
             p.mx, p.my, p.has_fibre
      FROM (SELECT 6378137.0 * radians(ST_X(geom)) AS mx,
                   6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) AS my, has_fibre
            FROM new_rows WHERE geom IS NOT NULL) p) q
GROUP BY GROUPING SETS ((q.cx12, q.cy12), (q.cx14, q.cy14))
"""  # noqa: S608 - our own names and numbers

# With the tables held (no other writer): both grids from one scan, kept in a temporary table
# (dropped at once); z12's few cells are upserted; z14's are inserted plainly when no stored cell
# lies in their box (a province's first load), else upserted too.
EXCLUSIVE_WRITE = """
DROP TABLE IF EXISTS pg_temp.household_cells_new;
CREATE TEMP TABLE household_cells_new ON COMMIT DROP AS {grouped};
{upsert12}
IF EXISTS (SELECT 1 FROM household_cell_z14 c,
                  (SELECT min(cx) AS x0, max(cx) AS x1, min(cy) AS y0, max(cy) AS y1
                   FROM household_cells_new WHERE z = 14) b
           WHERE c.cx BETWEEN b.x0 AND b.x1 AND c.cy BETWEEN b.y0 AND b.y1) THEN
    {upsert14}
ELSE
    INSERT INTO household_cell_z14 (cx, cy, n, n_fibre, sum_mx, sum_my)
    SELECT d.cx, d.cy, d.n, d.f, d.sx, d.sy FROM household_cells_new d WHERE d.z = 14
    ORDER BY d.cx, d.cy;
END IF;
DROP TABLE pg_temp.household_cells_new;
"""

UPSERT = """
    INSERT INTO {table} AS c (cx, cy, n, n_fibre, sum_mx, sum_my)
    SELECT d.cx, d.cy, d.n, d.f, d.sx, d.sy FROM household_cells_new d WHERE d.z = {z}
    ORDER BY d.cx, d.cy
    ON CONFLICT (cx, cy) DO UPDATE SET
        n = c.n + EXCLUDED.n,
        n_fibre = c.n_fibre + EXCLUDED.n_fibre,
        sum_mx = c.sum_mx + EXCLUDED.sum_mx,
        sum_my = c.sum_my + EXCLUDED.sum_my;"""

HELD = """(SELECT count(DISTINCT l.relation) = 2 FROM pg_locks l
        WHERE l.pid = pg_backend_pid() AND l.granted AND l.locktype = 'relation'
          AND l.relation IN ('household_cell'::regclass, 'household_cell_z14'::regclass)
          AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock'))"""

UP = f"""
CREATE FUNCTION household_cells_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('agrimap.cells_exclusive', true), '') = 'on' THEN
        IF {HELD} THEN
            {
    EXCLUSIVE_WRITE.format(
        grouped=GROUPED,
        upsert12=UPSERT.format(table="household_cell", z=12),
        upsert14=UPSERT.format(table="household_cell_z14", z=14),
    )
}
            RETURN NULL;
        END IF;
    END IF;
    -- 0007's write, then 0023's: each reads the new rows (the positions computed twice).
    {Z12.APPLY.format(rows=Z12.ROWS.format(sign=1, source="new_rows"))}
    {Z14.APPLY.format(rows=Z14.ROWS.format(sign=1, source="new_rows"))}
    RETURN NULL;
END $$;

DROP TRIGGER household_cells_inserted ON household;
DROP TRIGGER household_cells_z14_inserted ON household;
CREATE TRIGGER household_cells_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_added();
ALTER TABLE household ENABLE ALWAYS TRIGGER household_cells_inserted;

"""  # noqa: S608 - our own names and numbers


def _grow_of_0021() -> str:
    """partition_extent_grow() as 0021 defined it (from its own text, not a copy)."""
    start = EXTENTS.UP.index("CREATE FUNCTION partition_extent_grow()")
    end = EXTENTS.UP.index("CREATE FUNCTION partition_extent_truncated()")
    return EXTENTS.UP[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


# 0021's four aggregates of the rows' boxes, and the same extents from one box per row.
BOXES_0021 = """    FROM (SELECT coalesce(province_code, '') AS province,
                 min(ST_XMin(geom)) AS west, min(ST_YMin(geom)) AS south,
                 max(ST_XMax(geom)) AS east, max(ST_YMax(geom)) AS north
          FROM new_rows WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) GROUP BY 1) n"""
BOXES_0024 = """    FROM (SELECT x.province, ST_XMin(x.box) AS west, ST_YMin(x.box) AS south,
                 ST_XMax(x.box) AS east, ST_YMax(x.box) AS north
          FROM (SELECT coalesce(province_code, '') AS province, ST_Extent(geom) AS box
                FROM new_rows WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) GROUP BY 1) x) n"""


def _grow_of_0024() -> str:
    grow = _grow_of_0021()
    if BOXES_0021 not in grow:
        raise RuntimeError("migration 0021's partition_extent_grow() is not the one 0024 rewrites")
    return grow.replace(BOXES_0021, BOXES_0024)


DOWN = """
DROP TRIGGER household_cells_inserted ON household;
DROP FUNCTION household_cells_added();
CREATE TRIGGER household_cells_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_apply();
CREATE TRIGGER household_cells_z14_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_z14_apply();
ALTER TABLE household ENABLE ALWAYS TRIGGER household_cells_inserted;
ALTER TABLE household ENABLE ALWAYS TRIGGER household_cells_z14_inserted;
"""


# The key table's INSERT (0015, sorted bytewise by 0020): in token order, so that its unique
# index grows at its right edge. While a first load has dropped its keys, to build them after
# the move, the order buys nothing and its sort cost 0.6 s of a million-row import.
KEYS_SORTED = """INSERT INTO household_key (id, province_code, qr_token)
            SELECT id, province_code, qr_token FROM new_rows ORDER BY qr_token COLLATE "C";"""
KEYS_EITHER = """IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 'household_key'::regclass) THEN
                INSERT INTO household_key (id, province_code, qr_token)
                SELECT id, province_code, qr_token FROM new_rows ORDER BY qr_token COLLATE "C";
            ELSE  -- its keys are built after a first load's move (layers/ingest/write.py)
                INSERT INTO household_key (id, province_code, qr_token)
                SELECT id, province_code, qr_token FROM new_rows;
            END IF;"""


def upgrade() -> None:
    op.execute(UP + _grow_of_0024())
    BULK_TRIGGERS._keys_function(((KEYS_SORTED, KEYS_EITHER),))


def downgrade() -> None:
    BULK_TRIGGERS._keys_function(((KEYS_EITHER, KEYS_SORTED),))
    op.execute(DOWN + _grow_of_0021())
