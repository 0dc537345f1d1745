-- The households in scope (village, commune, province or all) and, for each, whether it is
-- served by the selection (operator, technologies, tier), by mobile broadband (4G/5G, any
-- operator) and passed by fibre (any operator). The village table and the hexagons follow. Coverage "as of" a date: per operator and technology, the
-- latest version valid on or before it. An aggregate of each household's set of coverage
-- polygons (household_coverage, kept by triggers): no spatial join.
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, operator, technology
    FROM coverage_version
    WHERE valid_from <= %(as_of)s
    ORDER BY operator, technology, valid_from DESC, id DESC
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
households AS (
    SELECT h.id, h.village_code, h.has_fibre, h.geom
    FROM household h JOIN in_scope v ON v.code = h.village_code
),
flags AS (
    SELECT hc.household_id,
           bool_or(v.technology = ANY(%(technologies)s)
                   AND (%(operator)s::text IS NULL OR v.operator = %(operator)s)
                   AND (NOT %(tiered)s OR (
                       t.code IS NOT NULL
                       AND coalesce(t.min_down_mbps, 0) >= %(down)s
                       AND coalesce(t.min_up_mbps, 0) >= %(up)s
                       AND coalesce(t.mean_down_mbps, 0) >= %(mean)s
                       AND (%(latency)s::float8 IS NULL OR t.max_latency_ms <= %(latency)s))))
               AS selected,
           bool_or(v.technology IN ('4G', '5G')) AS broadband,
           bool_or(v.technology = 'fibre') AS fibre
    FROM households h
    JOIN household_coverage hc ON hc.household_id = h.id
    CROSS JOIN LATERAL unnest(hc.coverage_ids) AS s(coverage_id)
    JOIN coverage c ON c.id = s.coverage_id
    JOIN current_version v ON v.id = c.version_id
    LEFT JOIN coverage_tier t ON t.code = c.tier
    GROUP BY hc.household_id
)
