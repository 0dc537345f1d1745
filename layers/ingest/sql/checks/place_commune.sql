-- The commune of each staged row that names none: the stored commune holding it (for a polygon,
-- the one with the largest overlap). Rows whose two best communes overlap about as much (the
-- second at least 90 % of the first) are left unplaced and reported as ambiguous.
CREATE TEMP TABLE place ON COMMIT DROP AS
WITH cand AS (
    SELECT s.row_no, c.code,
           CASE WHEN GeometryType(s.geom) IN ('POINT', 'MULTIPOINT') THEN 1
                ELSE ST_Area(ST_Intersection(c.geom, s.geom)::geography) END AS m2
    FROM staging s JOIN commune c ON ST_Intersects(c.geom, s.geom)
    WHERE s.commune_code IS NULL
), ranked AS (
    SELECT cand.*, row_number() OVER (PARTITION BY row_no ORDER BY m2 DESC, code) AS rank
    FROM cand WHERE m2 > 0
)
SELECT a.row_no, a.code, a.m2, b.code AS next_code, b.m2 AS next_m2
FROM ranked a LEFT JOIN ranked b ON b.row_no = a.row_no AND b.rank = 2
WHERE a.rank = 1;

UPDATE staging s SET commune_code = p.code, placed = true
FROM place p
WHERE p.row_no = s.row_no AND (p.next_m2 IS NULL OR p.next_m2 < 0.9 * p.m2);
