-- Commune and scoped code are settled in staging (layers/ingest/checks.py).
INSERT INTO village (code, name, commune_code, import_batch_id, geom)
SELECT s.code, s.name, s.commune_code, %(batch)s, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
