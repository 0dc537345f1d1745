-- A code the file numbers inside its commune ("10") is stored as "<commune>-10"; a code that
-- already starts with its commune ("02923-10") is kept.
UPDATE staging s SET code = s.commune_code || '-' || s.code
WHERE s.commune_code IS NOT NULL AND s.code IS NOT NULL
  AND s.code NOT LIKE s.commune_code || '-%'
RETURNING s.code
