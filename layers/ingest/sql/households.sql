-- Village and commune are settled in staging: the code given in the file, else the village
-- polygon that holds the point (layers/ingest/checks.py).
-- QR tokens are made in bulk by the import (geo.qrtoken.new_tokens), like agrimap_qr_token().
INSERT INTO household (code, label, village_code, commune_code, head_name, phone, has_fibre,
                       qr_token, import_batch_id, geom)
SELECT s.code, coalesce(s.label, s.code), s.village_code, s.commune_code,
       s.head_name, s.phone, coalesce(s.has_fibre, false), coalesce(s.qr_token, agrimap_qr_token()),
       %(batch)s, s.geom
FROM staging s
ORDER BY s.row_no;
