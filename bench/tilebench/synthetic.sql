-- Synthetic AgriMap data at realistic density for the tile benchmark (bench/tiles.py).
-- Province 1 lies around lon 103.9–104.9, lat 21.8–22.6 (Lào Cai-like uplands); a synthetic
-- country (bench.provinces, e.g. 34) adds provinces of the same size on a grid of 3 columns
-- southwards from lon 103.9, lat 21.0. Each province: 40 communes (Voronoi cells of a
-- jittered 8×5 grid), 14 villages per commune; households clustered around village centres
-- (bench.households over the whole country, villages weighted), ~1 growing area per 20
-- households near the villages, three soil properties as zones, and 3G/4G coverage of three
-- operators (towers at some villages, so there are gaps). Parameters come from custom
-- settings (bench.households, bench.provinces, bench.seed) so that the script runs as one
-- multi-statement string; every step is set-based. With one province the random draws are
-- those of the one-province script of 2026-12-02, so 100k/1M figures stay comparable.
-- Runs in one transaction: the write triggers need an actor (agrimap.system) and
-- agrimap.bulk skips the per-row audit log, as `agrimap import` does.

SET LOCAL max_parallel_workers_per_gather = 0;  -- random() must run in one process to repeat
SELECT set_config('agrimap.system', 'on', true), set_config('agrimap.bulk', 'on', true);
SELECT setseed(current_setting('bench.seed')::float8);

CREATE TEMP TABLE seed_province ON COMMIT DROP AS
SELECT k + 1 AS p,
       CASE WHEN k = 0 THEN '15' ELSE (50 + k)::text END AS code,
       CASE WHEN k = 0 THEN 103.9 ELSE 103.9 + ((k - 1) % 3) * 1.0 END AS lon0,
       CASE WHEN k = 0 THEN 21.8 ELSE 21.8 - (1 + (k - 1) / 3) * 0.8 END AS lat0
FROM generate_series(0, coalesce(current_setting('bench.provinces', true), '1')::int - 1) k;

INSERT INTO province (code, name, geom)
SELECT code, CASE WHEN p = 1 THEN 'Tỉnh Lào Cai (dữ liệu thử)' ELSE 'Tỉnh Thử ' || p END,
       ST_Multi(ST_MakeEnvelope(lon0, lat0, lon0 + 1.0, lat0 + 0.8, 4326))
FROM seed_province ORDER BY p;

CREATE TEMP TABLE seed_commune ON COMMIT DROP AS
SELECT sp.p, sp.code AS province_code, (sp.p - 1) * 40 + i AS i,
       ST_SetSRID(ST_MakePoint(sp.lon0 + ((i - 1) % 8 + 0.2 + 0.6 * random()) / 8.0,
                               sp.lat0 + 0.8 * ((i - 1) / 8 + 0.2 + 0.6 * random()) / 5.0),
                  4326) AS pt
FROM seed_province sp, generate_series(1, 40) i
ORDER BY sp.p, i;

INSERT INTO commune (code, name, province_code, geom)
SELECT lpad((4000 + s.i)::text, 5, '0'), 'Xã Thử ' || s.i, p.code,
       ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(c.cell, 4326), p.geom), 3))
FROM province p
CROSS JOIN LATERAL (
    SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(sc.pt), 0, ST_Expand(p.geom, 0.1)))).geom
           AS cell
    FROM seed_commune sc WHERE sc.province_code = p.code) c
JOIN seed_commune s ON s.province_code = p.code AND ST_Contains(ST_SetSRID(c.cell, 4326), s.pt);

CREATE TEMP TABLE seed_village ON COMMIT DROP AS
SELECT c.code AS commune_code, d.path[1] AS j, d.geom AS pt
FROM commune c, ST_Dump(ST_GeneratePoints(c.geom, 14, 1000 + c.code::int)) d;

INSERT INTO village (code, name, commune_code, geom)
SELECT s.commune_code || lpad(s.j::text, 2, '0'), 'Thôn ' || s.j, s.commune_code,
       ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(v.cell, 4326), c.geom), 3))
FROM commune c
CROSS JOIN LATERAL (
    SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(sv.pt), 0, c.geom))).geom AS cell
    FROM seed_village sv WHERE sv.commune_code = c.code) v
JOIN seed_village s ON s.commune_code = c.code AND ST_Contains(ST_SetSRID(v.cell, 4326), s.pt);

-- Villages differ in size (weight), spread (sigma, 150–450 m) and fibre roll-out.
CREATE TEMP TABLE vn ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY v.code) AS n, v.code, v.commune_code,
       (SELECT c.province_code FROM commune c WHERE c.code = v.commune_code) AS province_code,
       ST_X(s.pt) AS lon, ST_Y(s.pt) AS lat,
       (150 + 300 * random()) / 110540.0 AS sigma_lat,
       (150 + 300 * random()) / 102900.0 AS sigma_lon,  -- 111320 m × cos(22.3°)
       0.3 + 0.7 * random() AS weight,
       0.2 + 0.75 * random() AS fibre_share
FROM village v JOIN seed_village s ON v.code = s.commune_code || lpad(s.j::text, 2, '0');

CREATE TEMP TABLE vb ON COMMIT DROP AS   -- lower bounds of each village's share of [0, 1)
SELECT array_agg(lo ORDER BY n) AS bounds FROM (
    SELECT n, coalesce(sum(weight) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING
                                                   AND 1 PRECEDING), 0)
              / sum(weight) OVER () AS lo
    FROM vn) t;

-- Households (hộ gia đình): a Gaussian cloud around each village centre (Box–Muller).
INSERT INTO household (code, label, village_code, province_code, head_name, phone, has_fibre,
                       qr_token, geom)
SELECT 'H' || lpad(h.g::text, 8, '0'), 'Hộ ' || lpad(h.g::text, 8, '0'), v.code,
       v.province_code,
       (ARRAY['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Vũ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ',
              'Giàng', 'Sùng', 'Lò', 'Vàng'])[1 + floor(random() * 14)::int] || ' ' ||
       (ARRAY['Văn Ước', 'Thị Hằng', 'Đức Thắng', 'Minh Phúc', 'Thị Lựu', 'Quốc Việt',
              'A Páo', 'Thị Mai'])[1 + floor(random() * 8)::int],
       '0' || (100000000 + floor(random() * 899999999)::bigint)::text,
       random() < v.fibre_share,
       upper(substr(md5('qr' || h.g), 1, 14)),  -- cheap unique stand-in for agrimap_qr_token()
       ST_SetSRID(ST_MakePoint(v.lon + v.sigma_lon * h.r * cos(h.t),
                               v.lat + v.sigma_lat * h.r * sin(h.t)), 4326)
FROM (SELECT g, width_bucket(random(), (SELECT bounds FROM vb)) AS b,
             sqrt(-2 * ln(1 - random())) AS r, 2 * pi() * random() AS t
      FROM generate_series(1, current_setting('bench.households')::int) g) h
JOIN vn v ON v.n = h.b;

-- Growing areas (vùng trồng): rotated rectangles of 0.1–2 ha in the fields around villages,
-- about one per 20 households; a few suspended or revoked, with their reason.
INSERT INTO growing_area (code, crop, area_ha, cooperative, owner_name, member_households,
                          status, status_reason, status_changed_on, issued_on, commune_code,
                          province_code, geom)
SELECT format('VN-%s-%s', a.commune_code, lpad(a.g::text, 7, '0')), a.crop,
       round((ST_Area(a.geom::geography) / 1e4)::numeric, 4),
       CASE WHEN a.u < 0.6 THEN 'HTX Nông nghiệp ' || a.commune_code END,
       CASE WHEN a.u >= 0.6 THEN 'Chủ hộ ' || a.g END,
       1 + floor(a.u * 12)::int,
       a.status,
       CASE a.status WHEN 'suspended' THEN 'Chưa nộp nhật ký canh tác'
                     WHEN 'revoked' THEN 'Không đạt kiểm tra dư lượng' END,
       CASE WHEN a.status <> 'active' THEN date '2026-03-01' END,
       date '2020-01-01' + floor(a.u * 2000)::int,
       a.commune_code, commune_province(a.commune_code),
       ST_Multi(a.geom)
FROM (SELECT p.g, p.u, p.crop, p.status, v.commune_code,
             ST_Rotate(ST_MakeEnvelope(p.cx - p.w / 2, p.cy - p.h / 2,
                                       p.cx + p.w / 2, p.cy + p.h / 2, 4326),
                       p.angle, ST_SetSRID(ST_MakePoint(p.cx, p.cy), 4326)) AS geom
      FROM (SELECT q.g, q.b, q.u, q.angle, q.crop, q.status,
                   v.lon + 3 * v.sigma_lon * q.r * cos(q.t) AS cx,
                   v.lat + 3 * v.sigma_lat * q.r * sin(q.t) AS cy,
                   sqrt(q.ha * 1e4 * q.aspect) / 102900.0 AS w,
                   sqrt(q.ha * 1e4 / q.aspect) / 110540.0 AS h
            FROM (SELECT g, width_bucket(random(), (SELECT bounds FROM vb)) AS b,
                         sqrt(-2 * ln(1 - random())) AS r, 2 * pi() * random() AS t,
                         0.1 + 1.9 * random() ^ 2 AS ha, 1 + 2 * random() AS aspect,
                         pi() * random() AS angle, random() AS u,
                         (ARRAY['chè', 'lúa', 'chuối', 'dứa', 'quế', 'mận', 'ngô'])
                             [1 + floor(random() * 7)::int] AS crop,
                         CASE WHEN random() < 0.95 THEN 'active'
                              WHEN random() < 0.8 THEN 'suspended' ELSE 'revoked' END AS status
                  FROM generate_series(1, greatest(1, current_setting('bench.households')::int
                                                      / 20)) g) q
            JOIN vn v ON v.n = q.b) p
      JOIN vn v ON v.n = p.b) a;

-- Soil fertility zones (vùng nông hóa thổ nhưỡng): 400 Voronoi zones per property.
INSERT INTO soil_zone (property, value, grade, survey, geom)
SELECT z.property, z.value,
       CASE z.property
           WHEN 'ph_kcl' THEN CASE WHEN z.value < 4.5 THEN 'rất chua' WHEN z.value < 5.5 THEN 'chua'
                                   WHEN z.value < 6.5 THEN 'ít chua' ELSE 'trung tính' END
           ELSE CASE WHEN z.value >= 6.0 THEN 'rất giàu' WHEN z.value >= 4.3 THEN 'giàu'
                     WHEN z.value >= 2.2 THEN 'trung bình' WHEN z.value >= 1.0 THEN 'nghèo'
                     ELSE 'rất nghèo' END
       END,
       'Điều tra thử 2025', z.geom
FROM (SELECT pr.property,
             round((pr.lo + (pr.hi - pr.lo) * random())::numeric, 2)::float8 AS value,
             ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(c.cell, 4326), p.geom), 3))
                 AS geom
      FROM (VALUES ('ph_kcl', 3.8, 7.2), ('om', 0.5, 7.0), ('p2o5', 0.5, 7.0)) pr(property, lo, hi)
      CROSS JOIN province p
      CROSS JOIN LATERAL (
          SELECT (ST_Dump(ST_VoronoiPolygons(ST_GeneratePoints(p.geom, 400,
                                                               length(pr.property)), 0,
                                             p.geom))).geom AS cell) c) z
WHERE NOT ST_IsEmpty(z.geom);

-- Coverage (vùng phủ sóng): per operator, technology and province, the union of tower
-- circles, one row per commune; towers stand at a share of the villages, so there are gaps.
-- The coverage triggers join new polygons to the households written above: without their
-- statistics the planner takes the empty table of the migration and scans it per polygon.
ANALYZE household;
ANALYZE village;

-- Each operator and technology is one dated coverage version (coverage_version), as an import
-- of its map makes it.
CREATE TEMP TABLE seed_operator ON COMMIT DROP AS
SELECT * FROM (VALUES ('Viettel', '4G', 0.7, 2500.0), ('Viettel', '3G', 0.5, 4000.0),
                      ('VNPT', '4G', 0.4, 2200.0), ('VNPT', '3G', 0.35, 3500.0),
                      ('MobiFone', '4G', 0.3, 2000.0), ('MobiFone', '3G', 0.25, 3200.0))
              o(operator, technology, share, radius);
INSERT INTO coverage_version (operator, technology, valid_from, source)
SELECT operator, technology, date '2025-10-01', 'Đo kiểm thử' FROM seed_operator;

INSERT INTO coverage (operator, technology, source, observed_on, version_id, geom)
SELECT o.operator, o.technology, 'Đo kiểm thử', date '2025-10-01', cv.id, x.geom
FROM seed_operator o
JOIN coverage_version cv ON cv.operator = o.operator AND cv.technology = o.technology
CROSS JOIN province p
CROSS JOIN LATERAL (
    SELECT ST_Union(ST_Buffer(ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)::geography,
                              o.radius * (0.6 + 0.8 * random()), 'quad_segs=8')::geometry) AS geom
    FROM vn v WHERE v.province_code = p.code AND random() < o.share) u
CROSS JOIN LATERAL (
    SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(u.geom, c.geom), 3)) AS geom
    FROM commune c WHERE c.province_code = p.code) x
WHERE NOT ST_IsEmpty(x.geom);
