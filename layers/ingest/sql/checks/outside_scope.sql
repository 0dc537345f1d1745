-- Placed rows outside the communes the importing account may write in (an officer's).
SELECT s.row_no, s.commune_code, c.name
FROM staging s
LEFT JOIN commune c ON c.code = s.commune_code
WHERE s.commune_code IS NOT NULL AND NOT s.commune_code = ANY(%(communes)s::text[])
ORDER BY s.row_no
