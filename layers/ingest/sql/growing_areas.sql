-- Area: the declared one when the file gives it, else computed on the ellipsoid.
-- Commune: the one holding the area (largest overlap), settled and checked in staging
-- (codes issued before the 2025 reform keep their text; the link to today's commune is spatial).
INSERT INTO growing_area (code, crop, area_ha, cooperative, owner_name, member_households,
                          status, issued_on, commune_code, import_batch_id, geom)
SELECT s.code, s.crop,
       coalesce(s.area_ha, round((ST_Area(s.geom::geography) / 10000)::numeric, 4)),
       s.cooperative, s.owner_name, coalesce(s.member_households, 0),
       coalesce(s.status, 'active'), s.issued_on, s.commune_code,
       %(batch)s, ST_Multi(s.geom)
FROM staging s
ORDER BY s.row_no;
