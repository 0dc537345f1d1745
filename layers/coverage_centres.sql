-- Which of the given points (H3 cell centres) lie inside the selection's coverage current on
-- "as of" (operator, technologies, tier); a point on a boundary is inside.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
),
chosen AS (
    SELECT c.geom
    FROM coverage c
    JOIN current_version v ON v.id = c.version_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
    WHERE v.technology = ANY(%(technologies)s)
      AND (%(operator)s::text IS NULL OR v.operator = %(operator)s)
      AND (NOT %(tiered)s OR (
          t.code IS NOT NULL
          AND coalesce(t.min_down_mbps, 0) >= %(down)s
          AND coalesce(t.min_up_mbps, 0) >= %(up)s
          AND coalesce(t.mean_down_mbps, 0) >= %(mean)s
          AND (%(latency)s::float8 IS NULL OR t.max_latency_ms <= %(latency)s)))
)
SELECT p.i::int
FROM unnest(%(lons)s::float8[], %(lats)s::float8[]) WITH ORDINALITY AS p(lon, lat, i)
WHERE EXISTS (SELECT 1 FROM chosen c
              WHERE ST_Covers(c.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)))
