INSERT INTO village (code, name, commune_code, geom)
SELECT s.code, s.name, s.commune_code, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
