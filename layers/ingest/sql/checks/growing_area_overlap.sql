-- Overlaps with the stored active areas (another code: a re-import may update its own area),
-- then with the file's own earlier rows.
SELECT s.row_no, a.code, ST_Area(ST_Intersection(a.geom, s.geom)::geography) AS m2, 'stored'
FROM staging s JOIN growing_area a
  ON a.status = 'active' AND ST_Intersects(a.geom, s.geom) AND a.code <> s.code
UNION ALL
SELECT b.row_no, a.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography), 'file'
FROM staging a JOIN staging b
  ON a.row_no < b.row_no AND ST_Intersects(a.geom, b.geom)
 AND coalesce(a.status, 'active') = 'active'
ORDER BY 1, 3 DESC
