-- Area: the declared one when the file gives it, else computed on the ellipsoid.
-- Commune: the one holding the area (largest overlap), settled and checked in staging
-- (codes issued before the 2025 reform keep their text; the link to today's commune is spatial);
-- the province (the partition) is the commune's.
-- Ids follow the file's order; the rows are written in spatial order (layers/partitions.py).
INSERT INTO growing_area (id, code, crop, area_ha, cooperative, owner_name, member_households,
                          status, issued_on, commune_code, province_code, import_batch_id, geom)
SELECT s.id, s.code, s.crop,
       coalesce(s.area_ha, round((ST_Area(s.geom::geography) / 10000)::numeric, 4)),
       s.cooperative, s.owner_name, coalesce(s.member_households, 0),
       coalesce(s.status, 'active'), s.issued_on, s.commune_code, c.province_code,
       %(batch)s, ST_Multi(s.geom)
FROM (SELECT nextval('growing_area_id_seq'::regclass) AS id, st.*
      FROM staging st ORDER BY st.row_no) s
LEFT JOIN commune c ON c.code = s.commune_code
ORDER BY ST_GeoHash(ST_Centroid(s.geom), 10) COLLATE "C";
