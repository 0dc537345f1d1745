-- The part of each area outside the commune it is placed in (m²).
SELECT s.row_no, c.name, ST_Area(ST_Difference(s.geom, c.geom)::geography) AS m2
FROM staging s JOIN commune c ON c.code = s.commune_code
WHERE NOT ST_CoveredBy(s.geom, c.geom)
ORDER BY s.row_no
