-- One dated version per operator and technology in the file: valid from its latest
-- observation date, else today. Earlier versions stay; "as of" queries choose among them.
INSERT INTO coverage_version (operator, technology, valid_from, kind, source, import_batch_id)
SELECT s.operator, s.technology, coalesce(max(s.observed_on), current_date), 'polygons',
       min(s.source), %(batch)s
FROM staging s
GROUP BY s.operator, s.technology
ORDER BY s.operator, s.technology;
-- household_served follows by trigger (migration 0008), in this transaction.
INSERT INTO coverage (operator, technology, source, observed_on, tier, version_id, import_batch_id, geom)
SELECT s.operator, s.technology, s.source, s.observed_on, s.tier, v.id, %(batch)s, ST_Multi(s.geom)
FROM staging s
JOIN coverage_version v
  ON v.import_batch_id = %(batch)s AND v.operator = s.operator AND v.technology = s.technology
ORDER BY s.row_no;
