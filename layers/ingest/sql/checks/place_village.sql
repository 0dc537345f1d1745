-- A village code written as the file writes it ("10") is the village of that local code in
-- the commune the point lies in ("02923-10"), when no village is stored under the bare code.
UPDATE staging s SET village_code = v.code
FROM village v
WHERE s.village_code IS NOT NULL AND NOT s.placed
  AND v.code = v.commune_code || '-' || s.village_code
  AND NOT EXISTS (SELECT 1 FROM village x WHERE x.code = s.village_code)
  AND ST_DWithin(v.geom, s.geom, 0.001);

-- Rows that name no village take the one holding them (the only one: a point on the line
-- between two villages is left unplaced and reported as ambiguous).
UPDATE staging s SET (village_code, commune_code, placed) = (
    SELECT CASE WHEN count(*) = 1 THEN min(v.code) END,
           CASE WHEN count(*) = 1 THEN min(v.commune_code) END,
           count(*) = 1
    FROM village v WHERE ST_Covers(v.geom, s.geom))
WHERE s.village_code IS NULL AND s.geom IS NOT NULL;

UPDATE staging s SET commune_code = v.commune_code
FROM village v
WHERE v.code = s.village_code AND s.commune_code IS NULL;
