-- A large file's points are placed through a grid laid over the villages near them, instead of
-- one index probe per point (tens of microseconds each): every cell knows the villages it
-- touches and whether it lies wholly inside one, so a point in such a cell needs no geometry
-- test and a point in a boundary cell one ST_Covers against the few villages there. A hash
-- join on the cell's (i, j) replaces the million probes. Rows the grid leaves unplaced (outside,
-- on a shared line) go on to the exact per-row placing after it, which gives the same answer.
CREATE TEMP TABLE village_cell ON COMMIT DROP AS
WITH near AS (
    SELECT v.code, v.commune_code, v.geom
    FROM village v
    WHERE v.geom && (SELECT ST_SetSRID(ST_Extent(s.geom)::geometry, 4326) FROM staging s
                     WHERE s.village_code IS NULL)
), cell AS (
    -- about 64 cells over an average village
    SELECT greatest(sqrt(avg(ST_Area(geom))) / 8, 0.0001) AS d FROM near
)
SELECT n.code, n.commune_code, g.i, g.j, ST_Covers(n.geom, g.geom) AS inside, n.geom, cell.d
FROM near n, cell, ST_SquareGrid(cell.d, n.geom) g
WHERE ST_Intersects(n.geom, g.geom);

ANALYZE village_cell;

-- The village of each point the grid places (written into staging by rewriting it: see
-- checks._rewrite_staging).
CREATE TEMP TABLE grid_place ON COMMIT DROP AS
SELECT s.row_no, min(c.code) AS code, min(c.commune_code) AS commune_code
FROM staging s
JOIN village_cell c
  ON c.i = floor(ST_X(s.geom) / (SELECT d FROM village_cell LIMIT 1))::integer
 AND c.j = floor(ST_Y(s.geom) / (SELECT d FROM village_cell LIMIT 1))::integer
WHERE s.village_code IS NULL AND s.geom IS NOT NULL AND GeometryType(s.geom) = 'POINT'
  AND (c.inside OR ST_Covers(c.geom, s.geom))
GROUP BY s.row_no
HAVING count(*) = 1;

DROP TABLE village_cell
