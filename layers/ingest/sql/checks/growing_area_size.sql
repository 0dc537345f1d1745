SELECT s.row_no, ST_Area(s.geom::geography) / 10000 AS ha
FROM staging s
WHERE s.geom IS NOT NULL
ORDER BY s.row_no
