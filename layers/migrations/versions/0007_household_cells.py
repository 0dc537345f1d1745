"""Households counted per grid cell, kept by triggers: low-zoom tiles read cells, not points.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

household_cell holds, per cell of the z12 clustering grid (Web Mercator, 2^18 cells across
the world, about 153 m), how many households lie in it, how many have fibre, and the sums of
their Mercator x and y (so a cluster is drawn at its households' mean position). Cells of
lower zooms are unions of these (2×2 per zoom level), so every tile up to z12 is built from
cells: a z10 tile of 160,000 households reads a few thousand rows. One statement-level
trigger per event applies the changed rows' differences in the same transaction; cells are
written in (cx, cy) order so concurrent writers cannot deadlock on them.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CELLS_ACROSS = 2**18  # 4096 tiles at z12 × 64 cells per tile
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
INSERT INTO household_cell AS c (cx, cy, n, n_fibre, sum_mx, sum_my)
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
DELETE FROM household_cell WHERE n = 0;
"""

UP = f"""
CREATE TABLE household_cell (
    cx integer NOT NULL,
    cy integer NOT NULL,
    n integer NOT NULL,
    n_fibre integer NOT NULL DEFAULT 0,
    sum_mx double precision NOT NULL,
    sum_my double precision NOT NULL,
    PRIMARY KEY (cx, cy)
);
CREATE INDEX household_cell_empty ON household_cell (cx) WHERE n = 0;

CREATE FUNCTION household_cells_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE household_cell;
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

CREATE TRIGGER household_cells_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_apply();
CREATE TRIGGER household_cells_updated AFTER UPDATE ON household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION household_cells_apply();
CREATE TRIGGER household_cells_deleted AFTER DELETE ON household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION household_cells_apply();
CREATE TRIGGER household_cells_truncated AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION household_cells_apply();

{APPLY.format(rows=ROWS.format(sign=1, source="household"))}
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER household_cells_inserted ON household;"
        "DROP TRIGGER household_cells_updated ON household;"
        "DROP TRIGGER household_cells_deleted ON household;"
        "DROP TRIGGER household_cells_truncated ON household;"
        "DROP FUNCTION household_cells_apply(); DROP TABLE household_cell;"
    )
