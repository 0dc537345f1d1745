-- Rows left without a commune, with the nearest commune and how far it is (metres).
SELECT s.row_no, n.code, n.name, n.m
FROM staging s
LEFT JOIN LATERAL (
    SELECT c.code, c.name, ST_Distance(c.geom::geography, s.geom::geography) AS m
    FROM commune c ORDER BY c.geom <-> s.geom LIMIT 1
) n ON true
WHERE s.commune_code IS NULL AND s.geom IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM place p WHERE p.row_no = s.row_no)
ORDER BY s.row_no
