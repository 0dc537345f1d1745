-- Provinces: insert new ones; a re-import adds former codes and a boundary, never renames.
INSERT INTO province (code, name, old_codes, geom)
SELECT s.code, s.name, array_remove(ARRAY[s.old_code], NULL), ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
