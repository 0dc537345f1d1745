-- Points to place, and the stored villages near them (whether a grid pays off).
WITH todo AS (
    SELECT count(*) AS n, ST_SetSRID(ST_Extent(geom)::geometry, 4326) AS box
    FROM staging WHERE village_code IS NULL AND geom IS NOT NULL
)
SELECT todo.n, (SELECT count(*) FROM village v WHERE v.geom && todo.box)
FROM todo
