-- Village: the code given in the file, else the village polygon that holds the point.
INSERT INTO household (code, label, village_code, head_name, phone, has_fibre, import_batch_id, geom)
SELECT s.code, coalesce(s.label, s.code),
       coalesce(s.village_code,
                (SELECT v.code FROM village v WHERE ST_Intersects(v.geom, s.geom) LIMIT 1)),
       s.head_name, s.phone, coalesce(s.has_fibre, false), %(batch)s, s.geom
FROM staging s
ORDER BY s.row_no;
