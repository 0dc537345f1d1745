-- Village and commune are settled in staging: the code given in the file, else the village
-- polygon that holds the point (layers/ingest/checks.py); the province (the partition) is the
-- commune's.
-- QR tokens are made in bulk by the import (geo.qrtoken.new_tokens), like agrimap_qr_token().
-- Ids follow the file's order; the rows are written in spatial order (geohash), so that a box or
-- a tile reads few pages (layers/partitions.py). Each partition receives its rows in that order
-- whatever the province order, so the sort has one key, bytewise: with the province first,
-- and the database's collation, sorting a million rows took 7 s of CPU, now under 2 s.
INSERT INTO household (id, code, label, village_code, commune_code, province_code, head_name,
                       phone, has_fibre, qr_token, import_batch_id, geom)
SELECT s.id, s.code, coalesce(s.label, s.code), s.village_code, s.commune_code, c.province_code,
       s.head_name, s.phone, coalesce(s.has_fibre, false), coalesce(s.qr_token, agrimap_qr_token()),
       %(batch)s, s.geom
FROM (SELECT nextval('household_id_seq'::regclass) AS id, st.*
      FROM staging st ORDER BY st.row_no) s
LEFT JOIN commune c ON c.code = s.commune_code
ORDER BY ST_GeoHash(s.geom, 10) COLLATE "C";
