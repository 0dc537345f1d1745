-- Per village in scope: its households, and how many are served by the selection (operator,
-- technologies, tier), by mobile broadband (4G/5G, any operator), passed by fibre (any
-- operator), and subscribe to fibre. Coverage "as of" a date: per operator and technology, the
-- latest version valid on or before it. An aggregate of household_served: no spatial join.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
),
selected AS (
    SELECT DISTINCT s.household_id
    FROM household_served s
    JOIN current_version v ON v.id = s.version_id
    JOIN coverage c ON c.id = s.coverage_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
    WHERE v.technology = ANY(%(technologies)s)
      AND (%(operator)s::text IS NULL OR v.operator = %(operator)s)
      AND (NOT %(tiered)s OR (
          t.code IS NOT NULL
          AND coalesce(t.min_down_mbps, 0) >= %(down)s
          AND coalesce(t.min_up_mbps, 0) >= %(up)s
          AND coalesce(t.mean_down_mbps, 0) >= %(mean)s
          AND (%(latency)s::float8 IS NULL OR t.max_latency_ms <= %(latency)s)))
),
broadband AS (
    SELECT DISTINCT s.household_id
    FROM household_served s JOIN current_version v ON v.id = s.version_id
    WHERE v.technology IN ('4G', '5G')
),
fibre AS (
    SELECT DISTINCT s.household_id
    FROM household_served s JOIN current_version v ON v.id = s.version_id
    WHERE v.technology = 'fibre'
)
SELECT v.code, v.name, v.commune_code, c.name AS commune_name, c.province_code,
       p.name AS province_name,
       count(h.id)::int AS households,
       count(sel.household_id)::int AS served,
       count(bb.household_id)::int AS broadband,
       count(fb.household_id)::int AS fibre_passed,
       (count(h.id) FILTER (WHERE h.has_fibre))::int AS fibre_subscriptions
FROM village v
JOIN commune c ON c.code = v.commune_code
JOIN province p ON p.code = c.province_code
LEFT JOIN household h ON h.village_code = v.code
LEFT JOIN selected sel ON sel.household_id = h.id
LEFT JOIN broadband bb ON bb.household_id = h.id
LEFT JOIN fibre fb ON fb.household_id = h.id
WHERE (%(village)s::text IS NULL OR v.code = %(village)s)
  AND (%(commune)s::text IS NULL OR v.commune_code = %(commune)s)
  AND (%(province)s::text IS NULL OR c.province_code = %(province)s)
GROUP BY v.code, c.code, p.code
ORDER BY c.province_code, v.commune_code, v.code
