-- The growing areas an export holds: the stored export columns ({columns}), the names of their
-- commune and province, the village that holds most of each area (an area across a village
-- boundary is named after the larger part), and the boundary as WKB. Ordered by code.
SELECT {columns}, c.name AS commune_name, v.code AS village_code, v.name AS village_name,
       p.name AS province_name, ST_AsBinary(g.geom)
FROM growing_area g
LEFT JOIN commune c ON c.code = g.commune_code
LEFT JOIN province p ON p.code = c.province_code
LEFT JOIN LATERAL growing_area_village(g.geom, g.commune_code) v ON true
WHERE (%(id)s::bigint IS NULL OR g.id = %(id)s)
  AND (%(ids)s::bigint[] IS NULL OR g.id = ANY(%(ids)s::bigint[]))
  AND (%(commune)s::text IS NULL OR g.commune_code = %(commune)s)
  AND (%(status)s::text IS NULL OR g.status = %(status)s)
  AND (%(crop)s::text IS NULL OR g.crop = %(crop)s)
ORDER BY g.code
