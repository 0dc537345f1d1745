SELECT s.row_no, s.code, s.commune_code, c.name
FROM staging s LEFT JOIN commune c ON c.code = s.commune_code
WHERE s.code IS NOT NULL
ORDER BY s.row_no
