"""Households counted per z14 cluster cell (~38 m), kept by triggers: dense z13–14 tiles read cells.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

A z13–14 household tile over the point budget is drawn as clusters on the tile's 64 × 64 grid
(layers/serving/tiles.py). They were grouped from the tile's points: at 1,000,000 households a
dense village-centre tile read 10,000–40,000 points and computed each one's Web Mercator
position (11–24 ms a tile). household_cell_z14 holds the same sums as household_cell
(migration 0007) on the z14 grid (2^20 cells across the world, the cells of a z14 tile's
clusters exactly; a z13 cluster is 2 × 2 of them), so such a tile reads at most 66 × 66 cell
rows of an index. The triggers are those of 0007 on the finer grid; the INSERT one is ENABLE
ALWAYS like 0007's since 0020, so a bulk import (replica mode) keeps the cells too.
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

CELLS_ACROSS = 2**20  # 16,384 tiles at z14 × 64 cells per tile
CELL_M = 2 * 3.141592653589793 * 6378137.0 / CELLS_ACROSS

# A household's cell and Mercator position, from a row source named by the caller.
ROWS = f"""
SELECT {{sign}} AS sign, floor(p.mx / {CELL_M!r})::int AS cx, floor(p.my / {CELL_M!r})::int AS cy,
       p.mx, p.my, p.has_fibre
FROM (SELECT 6378137.0 * radians(ST_X(geom)) AS mx,
             6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) AS my, has_fibre
      FROM {{source}} WHERE geom IS NOT NULL) p
"""  # noqa: S608 - our own names and numbers

# The rows of an UPDATE whose place or fibre changed (a label edit moves no count).
MOVED = """(SELECT a.* FROM {a} a WHERE NOT EXISTS (
    SELECT 1 FROM {b} b WHERE b.id = a.id AND b.geom = a.geom AND b.has_fibre = a.has_fibre)) s"""

APPLY = """
INSERT INTO household_cell_z14 AS c (cx, cy, n, n_fibre, sum_mx, sum_my)
SELECT cx, cy, sum(sign), coalesce(sum(sign) FILTER (WHERE has_fibre), 0),
       sum(sign * mx), sum(sign * my)
FROM ({rows}) d
GROUP BY cx, cy
HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE has_fibre), 0) <> 0
    OR sum(sign * mx) <> 0 OR sum(sign * my) <> 0
ORDER BY cx, cy
ON CONFLICT (cx, cy) DO UPDATE SET
    n = c.n + EXCLUDED.n,
    n_fibre = c.n_fibre + EXCLUDED.n_fibre,
    sum_mx = c.sum_mx + EXCLUDED.sum_mx,
    sum_my = c.sum_my + EXCLUDED.sum_my;
DELETE FROM household_cell_z14 WHERE n = 0;
"""

UP = f"""
CREATE TABLE household_cell_z14 (
    cx integer NOT NULL,
    cy integer NOT NULL,
    n integer NOT NULL,
    n_fibre integer NOT NULL DEFAULT 0,
    sum_mx double precision NOT NULL,
    sum_my double precision NOT NULL,
    PRIMARY KEY (cx, cy)
);
CREATE INDEX household_cell_z14_empty ON household_cell_z14 (cx) WHERE n = 0;

CREATE FUNCTION household_cells_z14_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE household_cell_z14;
    ELSIF TG_OP = 'INSERT' THEN
        {APPLY.format(rows=ROWS.format(sign=1, source="new_rows"))}
    ELSIF TG_OP = 'DELETE' THEN
        {APPLY.format(rows=ROWS.format(sign=-1, source="old_rows"))}
    ELSE
        {
    APPLY.format(
        rows=ROWS.format(sign=-1, source=MOVED.format(a="old_rows", b="new_rows"))
        + " UNION ALL "
        + ROWS.format(sign=1, source=MOVED.format(a="new_rows", b="old_rows"))
    )
}
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER household_cells_z14_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_z14_apply();
CREATE TRIGGER household_cells_z14_updated AFTER UPDATE ON household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION household_cells_z14_apply();
CREATE TRIGGER household_cells_z14_deleted AFTER DELETE ON household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_z14_apply();
CREATE TRIGGER household_cells_z14_truncated AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION household_cells_z14_apply();
ALTER TABLE household ENABLE ALWAYS TRIGGER household_cells_z14_inserted;

{APPLY.format(rows=ROWS.format(sign=1, source="household"))}
ANALYZE household_cell_z14;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER household_cells_z14_inserted ON household;"
        "DROP TRIGGER household_cells_z14_updated ON household;"
        "DROP TRIGGER household_cells_z14_deleted ON household;"
        "DROP TRIGGER household_cells_z14_truncated ON household;"
        "DROP FUNCTION household_cells_z14_apply(); DROP TABLE household_cell_z14;"
    )
