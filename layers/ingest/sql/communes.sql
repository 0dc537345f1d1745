-- The province of each commune is created when missing, from the same file.
INSERT INTO province (code, name, old_codes)
SELECT DISTINCT ON (s.province_code)
       s.province_code, coalesce(s.province_name, 'Tỉnh ' || s.province_code),
       array_remove(ARRAY[s.old_province_code], NULL)
FROM staging s
ORDER BY s.province_code, s.row_no
ON CONFLICT (code) DO UPDATE
   SET old_codes = ARRAY(SELECT DISTINCT unnest(province.old_codes || EXCLUDED.old_codes) ORDER BY 1);

INSERT INTO commune (code, name, province_code, geom)
SELECT s.code, s.name, s.province_code, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;

-- Codes in use before the 1 July 2025 reform still resolve to today's commune.
INSERT INTO commune_former_code (province_code, district_code, commune_code, name, current_commune_code)
SELECT coalesce(s.old_province_code, s.province_code), s.old_district_code, s.old_code,
       coalesce(s.old_name, s.name), s.code
FROM staging s
WHERE s.old_code IS NOT NULL
ON CONFLICT (commune_code) DO NOTHING;
