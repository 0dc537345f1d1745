INSERT INTO coverage (operator, technology, source, observed_on, import_batch_id, geom)
SELECT s.operator, s.technology, s.source, s.observed_on, %(batch)s, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
