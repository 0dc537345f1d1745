-- Rows whose commune was given (in the file or for the whole file) but which lie outside it.
SELECT s.row_no, c.code, c.name, ST_Distance(c.geom::geography, s.geom::geography) AS m
FROM staging s JOIN commune c ON c.code = s.commune_code
WHERE NOT s.placed AND s.geom IS NOT NULL AND NOT ST_Intersects(c.geom, s.geom)
ORDER BY s.row_no
