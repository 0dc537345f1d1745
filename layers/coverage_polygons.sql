-- The coverage polygons current "as of" a date for the selection (operator, technologies,
-- tier), one feature per operator, technology and tier. With a scope (village, commune,
-- province) each is clipped to the scope's villages' box and 2 km around it: a province-wide
-- tower union is not sent whole to draw one commune.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology, valid_from
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
),
scope_box AS (
    SELECT ST_Expand(ST_Extent(v.geom)::geometry, 0.02) AS box
    FROM village v JOIN commune c ON c.code = v.commune_code
    WHERE (%(village)s::text IS NULL OR v.code = %(village)s)
      AND (%(commune)s::text IS NULL OR v.commune_code = %(commune)s)
      AND (%(province)s::text IS NULL OR c.province_code = %(province)s)
      AND (%(village)s::text IS NOT NULL OR %(commune)s::text IS NOT NULL
           OR %(province)s::text IS NOT NULL)
),
chosen AS (
    SELECT v.operator, v.technology, v.valid_from, c.tier,
           CASE WHEN b.box IS NULL THEN c.geom ELSE ST_ClipByBox2D(c.geom, b.box) END AS geom
    FROM coverage c
    JOIN current_version v ON v.id = c.version_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
    LEFT JOIN scope_box b ON true
    WHERE v.technology = ANY(%(technologies)s)
      AND (%(operator)s::text IS NULL OR v.operator = %(operator)s)
      AND (NOT %(tiered)s OR (
          t.code IS NOT NULL
          AND coalesce(t.min_down_mbps, 0) >= %(down)s
          AND coalesce(t.min_up_mbps, 0) >= %(up)s
          AND coalesce(t.mean_down_mbps, 0) >= %(mean)s
          AND (%(latency)s::float8 IS NULL OR t.max_latency_ms <= %(latency)s)))
      AND (b.box IS NULL OR c.geom && b.box)
)
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(g.geom, 6)::json,
    'properties', json_build_object('operator', g.operator, 'technology', g.technology,
                                    'tier', g.tier, 'valid_from', g.valid_from))
    ORDER BY g.technology, g.operator, g.tier NULLS FIRST), '[]')::text
FROM (
    SELECT operator, technology, tier, max(valid_from) AS valid_from,
           ST_Collect(ST_SimplifyPreserveTopology(geom, 0.00005)) AS geom
    FROM chosen WHERE NOT ST_IsEmpty(geom)
    GROUP BY operator, technology, tier
) g
