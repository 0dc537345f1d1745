-- Per village of the scope: households, served by the selection (operator, technologies,
-- tier), by mobile broadband (4G/5G, any operator), passed by fibre (any operator), and fibre
-- subscriptions. Read from village_coverage_summary (migration 0013): each row is a set of
-- coverage polygons and how many of the village's households exactly that set serves; a set
-- serves the selection when one of its polygons does. Coverage "as of" a date: per operator
-- and technology, the latest version valid on or before it. No spatial join, no households.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
),
polygon AS (
    SELECT c.id,
           v.technology = ANY(%(technologies)s)
           AND (%(operator)s::text IS NULL OR v.operator = %(operator)s)
           AND (NOT %(tiered)s OR (
               t.code IS NOT NULL
               AND coalesce(t.min_down_mbps, 0) >= %(down)s
               AND coalesce(t.min_up_mbps, 0) >= %(up)s
               AND coalesce(t.mean_down_mbps, 0) >= %(mean)s
               AND (%(latency)s::float8 IS NULL OR t.max_latency_ms <= %(latency)s))) AS selected,
           v.technology IN ('4G', '5G') AS broadband,
           v.technology = 'fibre' AS fibre
    FROM coverage c
    JOIN current_version v ON v.id = c.version_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
),
in_scope AS (
    SELECT v.code, v.name, v.commune_code, c.name AS commune_name, c.province_code,
           p.name AS province_name
    FROM village v
    JOIN commune c ON c.code = v.commune_code
    JOIN province p ON p.code = c.province_code
    WHERE (%(village)s::text IS NULL OR v.code = %(village)s)
      AND (%(commune)s::text IS NULL OR v.commune_code = %(commune)s)
      AND (%(province)s::text IS NULL OR c.province_code = %(province)s)
),
sets AS (
    SELECT s.id, s.village_code, s.coverage_ids, s.households, s.fibre_subscriptions
    FROM village_coverage_summary s JOIN in_scope v ON v.code = s.village_code
),
set_flags AS (
    SELECT m.id, bool_or(p.selected) AS selected, bool_or(p.broadband) AS broadband,
           bool_or(p.fibre) AS fibre
    FROM sets m
    CROSS JOIN LATERAL unnest(m.coverage_ids) AS u(coverage_id)
    JOIN polygon p ON p.id = u.coverage_id
    GROUP BY m.id
)
SELECT v.code, v.name, v.commune_code, v.commune_name, v.province_code, v.province_name,
       coalesce(sum(m.households), 0)::int AS households,
       coalesce(sum(m.households) FILTER (WHERE f.selected), 0)::int AS served,
       coalesce(sum(m.households) FILTER (WHERE f.broadband), 0)::int AS broadband,
       coalesce(sum(m.households) FILTER (WHERE f.fibre), 0)::int AS fibre_passed,
       coalesce(sum(m.fibre_subscriptions), 0)::int AS fibre_subscriptions
FROM in_scope v
LEFT JOIN sets m ON m.village_code = v.code
LEFT JOIN set_flags f ON f.id = m.id
GROUP BY v.code, v.name, v.commune_code, v.commune_name, v.province_code, v.province_name
ORDER BY v.province_code, v.commune_code, v.code
