INSERT INTO soil_zone (property, value, grade, survey, import_batch_id, geom)
SELECT s.property, s.value, s.grade, s.survey, %(batch)s, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
