-- Rows left without a village: how many villages hold them (0 outside, 2+ on a shared line),
-- the nearest village and how far it is (metres).
SELECT s.row_no,
       (SELECT count(*) FROM village v WHERE ST_Covers(v.geom, s.geom)) AS holding,
       n.code, n.name, n.m
FROM staging s
LEFT JOIN LATERAL (
    SELECT v.code, v.name, ST_Distance(v.geom::geography, s.geom::geography) AS m
    FROM village v ORDER BY v.geom <-> s.geom LIMIT 1
) n ON true
WHERE s.village_code IS NULL
ORDER BY s.row_no
