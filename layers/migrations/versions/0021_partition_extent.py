"""Each province partition's extent (the box holding its rows), so that a read by box names the
partitions it can meet and the planner prunes the others at plan time.

A bbox page of households in a 35-partition country was planned over every partition four times
(the match scan, the count branch, the two row probes): 18–26 ms of planning for 0.2 ms of work.
With ``province_code = ANY(<the provinces whose extent meets the box>)`` the planner keeps one or
two partitions (planning 0.5 ms).

The extent is of the rows themselves, not of the communes' boundaries: nothing requires a
household to lie inside its commune's boundary (a GPS point a few metres over the line).
``partition_extent`` grows with every INSERT and UPDATE through the parent (a statement trigger
over the transition table, so a bulk import pays one aggregate; a row that falls inside its
partition's extent writes nothing and locks nothing). Deletes leave the extent as it was (a larger
box only costs a wasted probe), a TRUNCATE clears the table's; ``partition_extent_refresh()``
recomputes them exactly (``agrimap maintain``). Rows without a commune (``…_pnone``) have the province key ''.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-03
"""

from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE partition_extent (
    parent text NOT NULL,
    province text NOT NULL,  -- '' for the partition of rows without a province
    west float8 NOT NULL, south float8 NOT NULL, east float8 NOT NULL, north float8 NOT NULL,
    PRIMARY KEY (parent, province)
);
COMMENT ON TABLE partition_extent IS
    'The box (degrees) holding every row of each province partition of household and '
    'growing_area; grown by statement triggers, recomputed by partition_extent_refresh().';

CREATE FUNCTION partition_extent_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only boxes that leave their partition's extent are written (ordered: two writers take the
    -- rows' locks in the same order).
    INSERT INTO partition_extent AS e (parent, province, west, south, east, north)
    SELECT TG_TABLE_NAME, n.province, n.west, n.south, n.east, n.north
    FROM (SELECT coalesce(province_code, '') AS province,
                 min(ST_XMin(geom)) AS west, min(ST_YMin(geom)) AS south,
                 max(ST_XMax(geom)) AS east, max(ST_YMax(geom)) AS north
          FROM new_rows WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) GROUP BY 1) n
    WHERE NOT EXISTS (SELECT 1 FROM partition_extent o
                      WHERE o.parent = TG_TABLE_NAME AND o.province = n.province
                        AND o.west <= n.west AND o.south <= n.south
                        AND o.east >= n.east AND o.north >= n.north)
    ORDER BY n.province
    ON CONFLICT (parent, province) DO UPDATE SET
        west = least(e.west, excluded.west), south = least(e.south, excluded.south),
        east = greatest(e.east, excluded.east), north = greatest(e.north, excluded.north);
    RETURN NULL;
END $$;

CREATE FUNCTION partition_extent_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partition_extent WHERE parent = TG_TABLE_NAME;
    RETURN NULL;
END $$;

CREATE FUNCTION partition_extent_refresh() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM partition_extent;
    INSERT INTO partition_extent
    SELECT 'household', coalesce(province_code, ''), min(ST_XMin(geom)), min(ST_YMin(geom)),
           max(ST_XMax(geom)), max(ST_YMax(geom))
    FROM household WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) GROUP BY 2;
    INSERT INTO partition_extent
    SELECT 'growing_area', coalesce(province_code, ''), min(ST_XMin(geom)), min(ST_YMin(geom)),
           max(ST_XMax(geom)), max(ST_YMax(geom))
    FROM growing_area WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) GROUP BY 2;
END $$;
COMMENT ON FUNCTION partition_extent_refresh() IS
    'Recompute every partition''s extent from its rows (after deletes, it can only shrink).';

CREATE TRIGGER household_extent_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_grow();
CREATE TRIGGER household_extent_updated AFTER UPDATE ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_grow();
CREATE TRIGGER growing_area_extent_inserted AFTER INSERT ON growing_area
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_grow();
CREATE TRIGGER growing_area_extent_updated AFTER UPDATE ON growing_area
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_grow();
CREATE TRIGGER household_extent_truncated AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_truncated();
CREATE TRIGGER growing_area_extent_truncated AFTER TRUNCATE ON growing_area
    FOR EACH STATEMENT EXECUTE FUNCTION partition_extent_truncated();

SELECT partition_extent_refresh();
"""

DOWN = r"""
DROP TRIGGER household_extent_inserted ON household;
DROP TRIGGER household_extent_updated ON household;
DROP TRIGGER growing_area_extent_inserted ON growing_area;
DROP TRIGGER growing_area_extent_updated ON growing_area;
DROP TRIGGER household_extent_truncated ON household;
DROP TRIGGER growing_area_extent_truncated ON growing_area;
DROP FUNCTION partition_extent_truncated();
DROP FUNCTION partition_extent_refresh();
DROP FUNCTION partition_extent_grow();
DROP TABLE partition_extent;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
