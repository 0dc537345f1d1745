"""Per-village coverage summary, kept by the served-household triggers: indicators read it;
speed tests.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02

village_coverage_summary groups each village's households by the exact set of coverage
polygons that serve them (household_served): one row per (village, set) with how many
households and fibre subscriptions. A village has a handful of such sets (no coverage; one
operator; two operators overlapping...), so a province of 1,000,000 households is some tens of
thousands of rows. Whether a set serves a selection (operator, technologies, tier, as of) is
decided per coverage polygon at request time, so every selection is an aggregate of this table:
no spatial join and no pass over households per request.

The 0008 functions that keep household_served now also refresh the summary of the villages
they touched, in the same statement; households whose village or fibre subscription changes
refresh their villages too. A village is refreshed whole (deleted and re-aggregated from its
households), which keeps the table exact without delta arithmetic on arrays.
"""

from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE village_coverage_summary (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    village_code text NOT NULL,
    coverage_ids bigint[] NOT NULL,
    households integer NOT NULL,
    fibre_subscriptions integer NOT NULL,
    UNIQUE (village_code, coverage_ids)
);
COMMENT ON TABLE village_coverage_summary IS
    'Households per village and set of coverage polygons serving them (tóm tắt phủ sóng theo '
    'thôn); kept by triggers, read by the indicators.';

-- The codes are joined as a set (unnest), not tested with = ANY (a linear search per row), and
-- the statements are planned for the codes given (EXECUTE): one village's refresh walks the
-- household index, a province's (thousands of codes, a million households) hashes whole
-- tables; a generic plan made for ten codes took 40 s for the province instead of 5.
CREATE FUNCTION village_coverage_refresh(codes text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE $q$
        DELETE FROM village_coverage_summary s USING unnest($1) AS k(code)
        WHERE s.village_code = k.code
    $q$ USING codes;
    EXECUTE $q$
        INSERT INTO village_coverage_summary
            (village_code, coverage_ids, households, fibre_subscriptions)
        SELECT h.village_code, coalesce(s.ids, '{}'), count(*), count(*) FILTER (WHERE h.has_fibre)
        FROM (SELECT DISTINCT code FROM unnest($1) AS k(code)) k
        JOIN household h ON h.village_code = k.code
        LEFT JOIN (
            SELECT hs.household_id, array_agg(hs.coverage_id ORDER BY hs.coverage_id) AS ids
            FROM (SELECT DISTINCT code FROM unnest($1) AS k(code)) kk
            JOIN household hh ON hh.village_code = kk.code
            JOIN household_served hs ON hs.household_id = hh.id
            GROUP BY hs.household_id
        ) s ON s.household_id = h.id
        GROUP BY h.village_code, coalesce(s.ids, '{}')
    $q$ USING codes;
END $$;

CREATE FUNCTION village_coverage_refresh_all() RETURNS void LANGUAGE sql AS $$
    TRUNCATE village_coverage_summary;
    SELECT village_coverage_refresh(array_agg(DISTINCT village_code))
    FROM household WHERE village_code IS NOT NULL;
$$;

CREATE OR REPLACE FUNCTION household_served_from_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    codes text[] := '{}';
    more text[];
BEGIN
    -- The villages touched are gathered as the rows are written (RETURNING), never as a list
    -- of households: a province's import touches a million of those and a few thousand villages.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        WITH gone AS (
            DELETE FROM household_served s USING old_rows c WHERE s.coverage_id = c.id
            RETURNING s.household_id
        )
        SELECT coalesce(array_agg(DISTINCT h.village_code), '{}') INTO codes
        FROM gone JOIN household h ON h.id = gone.household_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        WITH added AS (
            INSERT INTO household_served (coverage_id, household_id, version_id)
            SELECT DISTINCT c.id, h.id, c.version_id
            FROM new_rows c
            CROSS JOIN LATERAL ST_Subdivide(c.geom, 128) AS piece(geom)
            JOIN household h ON ST_Covers(piece.geom, h.geom)
            RETURNING household_id
        )
        SELECT coalesce(array_agg(DISTINCT h.village_code), '{}') INTO more
        FROM added JOIN household h ON h.id = added.household_id;
        codes := codes || more;
    END IF;
    codes := array_remove(codes, NULL);
    IF cardinality(codes) > 0 THEN
        PERFORM village_coverage_refresh(codes);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION household_served_from_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    codes text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM household_served s USING old_rows o WHERE s.household_id = o.id;
        SELECT array_agg(DISTINCT village_code) INTO codes FROM old_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only the households that moved: a label or fibre edit changes no coverage.
        DELETE FROM household_served s USING new_rows n, old_rows o
        WHERE s.household_id = n.id AND o.id = n.id AND o.geom IS DISTINCT FROM n.geom;
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT c.id, n.id, c.version_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.geom IS DISTINCT FROM n.geom
        JOIN coverage c ON ST_Covers(c.geom, n.geom);
        -- Moved, re-assigned or fibre changed: both villages' counts change.
        SELECT array_agg(DISTINCT v.unit) INTO codes
        FROM new_rows n JOIN old_rows o ON o.id = n.id,
             LATERAL (VALUES (o.village_code), (n.village_code)) AS v(unit)
        WHERE o.geom IS DISTINCT FROM n.geom OR o.village_code IS DISTINCT FROM n.village_code
           OR o.has_fibre IS DISTINCT FROM n.has_fibre;
    ELSE
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT c.id, n.id, c.version_id
        FROM new_rows n JOIN coverage c ON ST_Covers(c.geom, n.geom);
        SELECT array_agg(DISTINCT village_code) INTO codes FROM new_rows;
    END IF;
    codes := array_remove(codes, NULL);
    IF cardinality(codes) > 0 THEN
        PERFORM village_coverage_refresh(codes);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION household_served_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE household_served;
    IF TG_TABLE_NAME = 'household' THEN
        TRUNCATE village_coverage_summary;
    ELSE
        PERFORM village_coverage_refresh_all();  -- every household now unserved
    END IF;
    RETURN NULL;
END $$;

SELECT village_coverage_refresh_all();

-- Speed tests (đo tốc độ) challenge the operators' claims: each a point with its local time,
-- graded into tiers at read time against coverage_tier (the tiers stay editable).
CREATE TABLE coverage_speed_test (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    operator text NOT NULL,
    technology text NOT NULL,
    measured_at timestamp NOT NULL,
    down_mbps double precision NOT NULL CHECK (down_mbps >= 0),
    up_mbps double precision CHECK (up_mbps >= 0),
    latency_ms double precision CHECK (latency_ms >= 0),
    source text,
    import_batch_id bigint REFERENCES import_batch (id) ON DELETE CASCADE,
    geom geometry(Point, 4326) NOT NULL,
    CONSTRAINT coverage_speed_test_technology_known
        CHECK (technology IN ('2G', '3G', '4G', '5G', 'fibre'))
);
CREATE INDEX coverage_speed_test_geom ON coverage_speed_test USING gist (geom);
CREATE INDEX coverage_speed_test_operator ON coverage_speed_test (operator, technology, measured_at);
COMMENT ON TABLE coverage_speed_test IS
    'Speed tests (kết quả đo tốc độ): counted 06:00-22:00 local time and for one year (FCC).';
"""

DOWN = """
DROP TABLE coverage_speed_test;
CREATE OR REPLACE FUNCTION household_served_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE household_served;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION household_served_from_household() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM household_served s USING old_rows o WHERE s.household_id = o.id;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM household_served s USING new_rows n, old_rows o
        WHERE s.household_id = n.id AND o.id = n.id AND o.geom IS DISTINCT FROM n.geom;
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT c.id, n.id, c.version_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.geom IS DISTINCT FROM n.geom
        JOIN coverage c ON ST_Covers(c.geom, n.geom);
    ELSE
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT c.id, n.id, c.version_id
        FROM new_rows n JOIN coverage c ON ST_Covers(c.geom, n.geom);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION household_served_from_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM household_served s USING old_rows c WHERE s.coverage_id = c.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT DISTINCT c.id, h.id, c.version_id
        FROM new_rows c
        CROSS JOIN LATERAL ST_Subdivide(c.geom, 128) AS piece(geom)
        JOIN household h ON ST_Covers(piece.geom, h.geom);
    END IF;
    RETURN NULL;
END $$;
DROP FUNCTION village_coverage_refresh_all();
DROP FUNCTION village_coverage_refresh(text[]);
DROP TABLE village_coverage_summary;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
