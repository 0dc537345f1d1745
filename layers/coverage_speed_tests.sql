-- An operator's speed tests counted against its claim, in the villages of the scope (the
-- disagreements and the map's test points follow). The tests counted: the operator's, of the technology, at 06:00-22:00 local time, measured in the
-- year up to "as of" (FCC). A test is "claimed" when it lies inside the operator's current
-- coverage of that technology whose tier serves the reference tier (an untiered polygon
-- claims the technology, so it is held to the reference tier too). A test meets the tier
-- when its download, upload and latency reach the tier's minimums.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology
    FROM coverage_version
    WHERE valid_from <= %(as_of)s AND operator = %(operator)s AND technology = %(technology)s
    ORDER BY operator, technology, valid_from DESC, id DESC
),
claim AS (
    SELECT c.geom, c.tier
    FROM coverage c JOIN current_version v ON v.id = c.version_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
    WHERE c.tier IS NULL OR (
        coalesce(t.min_down_mbps, 0) >= %(down)s AND coalesce(t.min_up_mbps, 0) >= %(up)s)
),
in_scope AS (
    SELECT v.code, v.name, v.commune_code, v.geom
    FROM village v JOIN commune c ON c.code = v.commune_code
    WHERE (%(village)s::text IS NULL OR v.code = %(village)s)
      AND (%(commune)s::text IS NULL OR v.commune_code = %(commune)s)
      AND (%(province)s::text IS NULL OR c.province_code = %(province)s)
),
tests AS (
    SELECT t.id, v.code AS village_code, t.down_mbps, t.up_mbps, t.latency_ms, t.measured_at,
           t.geom,
           EXISTS (SELECT 1 FROM claim c WHERE ST_Covers(c.geom, t.geom)) AS claimed,
           t.down_mbps >= %(down)s
           AND (%(up)s = 0 OR coalesce(t.up_mbps, 0) >= %(up)s)
           AND (%(latency)s::float8 IS NULL OR coalesce(t.latency_ms, 'infinity') <= %(latency)s)
               AS meets
    FROM coverage_speed_test t
    JOIN in_scope v ON ST_Covers(v.geom, t.geom)
    WHERE t.operator = %(operator)s AND t.technology = %(technology)s
      AND t.measured_at::time >= '06:00' AND t.measured_at::time <= '22:00'
      AND t.measured_at < (%(as_of)s::date + 1)
      AND t.measured_at >= (%(as_of)s::date - interval '1 year')
)
