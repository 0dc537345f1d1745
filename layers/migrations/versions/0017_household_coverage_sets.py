"""Each household's coverage set, so that the per-village summary follows edits by deltas.

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-03

household_coverage keeps, for every household, its village, its fibre subscription and the
sorted set of coverage polygons serving it (household_served grouped by household). The
triggers that keep household_served now also move each household they touch from its old set
to its new one and add the difference to village_coverage_summary: -1 for (village, old set),
+1 for (village, new set), aggregated before they are applied. A province's import thus costs
one pass over the households it serves (the rows household_served gains) and an upsert of a
few thousand summary rows, where 0013 deleted and re-aggregated every touched village from
household and household_served. Measured on a province of 1,000,000 households (server CPU,
the machine being shared): 0013 19-26 s, this 16.5-18.7 s, of which 7.5 s are the spatial join
and household_served's own rows; the rest is this table's UPDATE (3.5 s) and the grouping.

Sets change by set arithmetic on the few thousand distinct (village, set, change) groups, not
per household: a household's new set is its old one with the polygons added appended (a new
polygon's id is above every stored id, so the order holds; otherwise it is sorted again) or
the polygons removed filtered out.

The triggers stay statement-level with transition tables (REFERENCING), which PostgreSQL 15
supports on a partitioned table: a statement on the parent sees the rows of every partition,
and an UPDATE moving a row to another partition is seen as an UPDATE (checked on PG 15). A
statement naming one partition directly does not fire the parent's statement triggers:
household writes must name the parent. Nothing here relies on ctid or a column order.
"""

from alembic import op

revision = "0017"
down_revision = "0018"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE household_coverage (
    household_id bigint PRIMARY KEY,
    village_code text,
    has_fibre boolean NOT NULL,
    coverage_ids bigint[] NOT NULL
) WITH (fillfactor = 50);
-- fillfactor 50: a province's import rewrites most rows once; with room on the page the new
-- versions stay on it (HOT) and the key index is not touched.
COMMENT ON TABLE household_coverage IS
    'Each household''s village, fibre subscription and sorted set of coverage polygons serving '
    'it (tập phủ sóng của hộ); kept by triggers, summed into village_coverage_summary.';

ALTER TABLE village_coverage_summary ADD CONSTRAINT village_coverage_summary_counts
    CHECK (households >= 0 AND fibre_subscriptions BETWEEN 0 AND households);

CREATE TYPE village_coverage_delta AS (
    village_code text, coverage_ids bigint[], households integer, fibre_subscriptions integer
);

-- A sorted set with some polygons added (in any order), sorted: a new polygon's id is above
-- every stored one, so one polygon added is usually appended.
CREATE FUNCTION coverage_ids_with(ids bigint[], added bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN cardinality(added) = 0 THEN ids
        WHEN cardinality(added) = 1 AND (cardinality(ids) = 0 OR ids[cardinality(ids)] < added[1])
            THEN ids || added
        ELSE ARRAY(SELECT DISTINCT u FROM unnest(ids || added) AS t(u) ORDER BY u)
    END
$$;
CREATE FUNCTION coverage_ids_without(ids bigint[], removed bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT u FROM unnest(ids) WITH ORDINALITY AS t(u, i)
                 WHERE u <> ALL (removed) ORDER BY i)
$$;

-- Adds the deltas (households and fibre subscriptions per village and set; negative for the
-- sets households left) and drops the sets left empty. The rows are locked first in a stable
-- order, so that two transactions sharing rows wait for each other rather than deadlock. Rows
-- that exist are updated before the new ones are inserted, because INSERT ... ON CONFLICT
-- checks the CHECK above on the row it proposes (for a negative delta, negative). The CHECK
-- turns a delta that does not match the table into an error rather than a wrong figure.
CREATE FUNCTION village_coverage_apply(deltas village_coverage_delta[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(deltas), 0) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1
    FROM village_coverage_summary s
    JOIN (SELECT DISTINCT village_code, coverage_ids FROM unnest(deltas)) d
      ON d.village_code = s.village_code AND d.coverage_ids = s.coverage_ids
    ORDER BY s.village_code, s.coverage_ids
    FOR UPDATE OF s;
    WITH d AS (
        SELECT village_code, coverage_ids, sum(households)::int AS n,
               sum(fibre_subscriptions)::int AS f
        FROM unnest(deltas)
        GROUP BY village_code, coverage_ids
        HAVING sum(households) <> 0 OR sum(fibre_subscriptions) <> 0
    ), updated AS (
        UPDATE village_coverage_summary s
        SET households = s.households + d.n, fibre_subscriptions = s.fibre_subscriptions + d.f
        FROM d WHERE s.village_code = d.village_code AND s.coverage_ids = d.coverage_ids
        RETURNING s.village_code, s.coverage_ids
    )
    INSERT INTO village_coverage_summary AS s
        (village_code, coverage_ids, households, fibre_subscriptions)
    SELECT d.village_code, d.coverage_ids, d.n, d.f
    FROM d
    WHERE NOT EXISTS (
        SELECT 1 FROM updated u
        WHERE u.village_code = d.village_code AND u.coverage_ids = d.coverage_ids)
    ORDER BY d.village_code, d.coverage_ids
    ON CONFLICT (village_code, coverage_ids) DO UPDATE  -- inserted meanwhile by another
    SET households = s.households + EXCLUDED.households,
        fibre_subscriptions = s.fibre_subscriptions + EXCLUDED.fibre_subscriptions;
    DELETE FROM village_coverage_summary s USING unnest(deltas) AS d
    WHERE s.village_code = d.village_code AND s.coverage_ids = d.coverage_ids
      AND s.households = 0;
END $$;

-- The summary from household_coverage (after a truncate), and both from household and
-- household_served: the repair tool, and the benchmark's reference.
CREATE FUNCTION village_coverage_summarise() RETURNS void LANGUAGE sql AS $$
    TRUNCATE village_coverage_summary;
    INSERT INTO village_coverage_summary
        (village_code, coverage_ids, households, fibre_subscriptions)
    SELECT village_code, coverage_ids, count(*), count(*) FILTER (WHERE has_fibre)
    FROM household_coverage WHERE village_code IS NOT NULL
    GROUP BY village_code, coverage_ids;
$$;
DROP FUNCTION village_coverage_refresh_all();
CREATE FUNCTION village_coverage_refresh_all() RETURNS void LANGUAGE sql AS $$
    TRUNCATE household_coverage;
    INSERT INTO household_coverage (household_id, village_code, has_fibre, coverage_ids)
    SELECT h.id, h.village_code, h.has_fibre, coalesce(s.ids, '{}')
    FROM household h
    LEFT JOIN (
        SELECT household_id, array_agg(coverage_id ORDER BY coverage_id) AS ids
        FROM household_served GROUP BY household_id
    ) s ON s.household_id = h.id;
    SELECT village_coverage_summarise();
$$;
DROP FUNCTION village_coverage_refresh(text[]);

-- Coverage added, re-shaped or removed. Only the polygons whose shape or version changed are
-- matched again (a tier or label edit moves no household). Removal runs before addition: a
-- re-shaped polygon's old rows must be gone before its new ones are written. A household's
-- change is a set in any order (only its members matter). The usual change, one polygon, is
-- written out in the UPDATE: coverage_ids_with/_without are not inlined (they hold a
-- sub-select), and a call costs tens of microseconds, a million times over.
CREATE OR REPLACE FUNCTION household_served_from_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
    deltas village_coverage_delta[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(o.id), '{}') INTO changed
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE n.id IS NULL OR o.geom IS DISTINCT FROM n.geom
           OR o.version_id IS DISTINCT FROM n.version_id;
        SELECT changed || coalesce(array_agg(n.id), '{}') INTO changed
        FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id);
    ELSIF TG_OP = 'DELETE' THEN
        SELECT coalesce(array_agg(id), '{}') INTO changed FROM old_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND cardinality(changed) > 0 THEN
        WITH gone AS (
            DELETE FROM household_served s USING unnest(changed) AS k(id)
            WHERE s.coverage_id = k.id
            RETURNING s.household_id, s.coverage_id
        ), per_household AS (
            SELECT household_id, array_agg(coverage_id) AS ids
            FROM gone GROUP BY household_id
        ), moved AS (
            UPDATE household_coverage hc
            SET coverage_ids = CASE WHEN cardinality(p.ids) = 1
                THEN array_remove(hc.coverage_ids, p.ids[1])
                ELSE coverage_ids_without(hc.coverage_ids, p.ids) END
            FROM per_household p WHERE hc.household_id = p.household_id
            RETURNING hc.village_code, hc.has_fibre, hc.coverage_ids, p.ids AS change
        ), grouped AS (
            SELECT village_code, coverage_ids, change, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM moved WHERE village_code IS NOT NULL
            GROUP BY village_code, coverage_ids, change
        )
        SELECT array_agg(d) INTO deltas FROM (
            SELECT (village_code, coverage_ids, n, f)::village_coverage_delta AS d FROM grouped
            UNION ALL
            SELECT (village_code, coverage_ids_with(coverage_ids, change), -n, -f)::village_coverage_delta
            FROM grouped
        ) x;
        PERFORM village_coverage_apply(deltas);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND cardinality(changed) > 0) THEN
        -- One sort drops the pairs found twice (a point on a cut between two pieces) and
        -- orders them by household, then polygon: the groups need no sort of their own, their
        -- arrays come out sorted, and household_served's rows arrive in index order.
        WITH pairs AS (
            SELECT DISTINCT h.id AS household_id, c.id AS coverage_id
            FROM new_rows c
            CROSS JOIN LATERAL ST_Subdivide(c.geom, 128) AS piece(geom)
            JOIN household h ON ST_Covers(piece.geom, h.geom)
            WHERE TG_OP = 'INSERT' OR c.id = ANY (changed)
            ORDER BY 1, 2
        ), per_household AS (
            SELECT household_id, array_agg(coverage_id) AS ids FROM pairs GROUP BY household_id
        ), added AS (
            INSERT INTO household_served (coverage_id, household_id, version_id)
            SELECT u.id, p.household_id, c.version_id
            FROM per_household p
            CROSS JOIN LATERAL unnest(p.ids) AS u(id)
            JOIN new_rows c ON c.id = u.id
        ), moved AS (
            UPDATE household_coverage hc
            SET coverage_ids = CASE WHEN cardinality(hc.coverage_ids) = 0
                    OR hc.coverage_ids[cardinality(hc.coverage_ids)] < p.ids[1]
                THEN hc.coverage_ids || p.ids
                ELSE coverage_ids_with(hc.coverage_ids, p.ids) END
            FROM per_household p WHERE hc.household_id = p.household_id
            RETURNING hc.village_code, hc.has_fibre, hc.coverage_ids, p.ids AS change
        ), grouped AS (
            SELECT village_code, coverage_ids, change, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM moved WHERE village_code IS NOT NULL
            GROUP BY village_code, coverage_ids, change
        )
        SELECT array_agg(d) INTO deltas FROM (
            SELECT (village_code, coverage_ids, n, f)::village_coverage_delta AS d FROM grouped
            UNION ALL
            SELECT (village_code, coverage_ids_without(coverage_ids, change), -n, -f)::village_coverage_delta
            FROM grouped
        ) x;
        PERFORM village_coverage_apply(deltas);
    END IF;
    RETURN NULL;
END $$;

-- A province's import sorts and hashes a million rows: in memory, not in temporary files.
ALTER FUNCTION household_served_from_coverage() SET work_mem = '128MB';
ALTER FUNCTION village_coverage_refresh_all() SET work_mem = '128MB';

-- Households added, moved, re-assigned to a village, fibre changed or deleted: each leaves its
-- old (village, set) and joins its new one.
CREATE OR REPLACE FUNCTION household_served_from_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deltas village_coverage_delta[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM household_served s USING old_rows o WHERE s.household_id = o.id;
        WITH gone AS (
            DELETE FROM household_coverage hc USING old_rows o WHERE hc.household_id = o.id
            RETURNING hc.village_code, hc.has_fibre, hc.coverage_ids
        )
        SELECT array_agg((village_code, coverage_ids, -n, -f)::village_coverage_delta) INTO deltas
        FROM (
            SELECT village_code, coverage_ids, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM gone WHERE village_code IS NOT NULL GROUP BY village_code, coverage_ids
        ) g;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only the households that moved are matched again: a label or fibre edit changes no
        -- coverage.
        DELETE FROM household_served s USING new_rows n, old_rows o
        WHERE s.household_id = n.id AND o.id = n.id AND o.geom IS DISTINCT FROM n.geom;
        INSERT INTO household_served (coverage_id, household_id, version_id)
        SELECT c.id, n.id, c.version_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.geom IS DISTINCT FROM n.geom
        JOIN coverage c ON ST_Covers(c.geom, n.geom);
        WITH changed AS (
            SELECT n.id, n.village_code, n.has_fibre, o.geom IS DISTINCT FROM n.geom AS moved
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE o.geom IS DISTINCT FROM n.geom OR o.village_code IS DISTINCT FROM n.village_code
               OR o.has_fibre IS DISTINCT FROM n.has_fibre
        ), before AS (
            SELECT hc.village_code, hc.has_fibre, hc.coverage_ids
            FROM household_coverage hc JOIN changed c ON c.id = hc.household_id
        ), after AS (
            UPDATE household_coverage hc
            SET village_code = c.village_code, has_fibre = c.has_fibre,
                coverage_ids = CASE WHEN c.moved THEN coalesce(
                    (SELECT array_agg(s.coverage_id ORDER BY s.coverage_id)
                     FROM household_served s WHERE s.household_id = c.id), '{}')
                    ELSE hc.coverage_ids END
            FROM changed c WHERE hc.household_id = c.id
            RETURNING hc.village_code, hc.has_fibre, hc.coverage_ids
        )
        SELECT array_agg((village_code, coverage_ids, n, f)::village_coverage_delta) INTO deltas
        FROM (
            SELECT village_code, coverage_ids, sum(n)::int AS n, sum(f)::int AS f
            FROM (
                SELECT village_code, coverage_ids, -1 AS n, -has_fibre::int AS f FROM before
                UNION ALL
                SELECT village_code, coverage_ids, 1, has_fibre::int FROM after
            ) x
            WHERE village_code IS NOT NULL GROUP BY village_code, coverage_ids
        ) g;
    ELSE
        WITH served AS (
            INSERT INTO household_served (coverage_id, household_id, version_id)
            SELECT c.id, n.id, c.version_id
            FROM new_rows n JOIN coverage c ON ST_Covers(c.geom, n.geom)
            RETURNING household_id, coverage_id
        ), per_household AS (
            SELECT household_id, array_agg(coverage_id ORDER BY coverage_id) AS ids
            FROM served GROUP BY household_id
        ), added AS (
            INSERT INTO household_coverage (household_id, village_code, has_fibre, coverage_ids)
            SELECT n.id, n.village_code, n.has_fibre, coalesce(p.ids, '{}')
            FROM new_rows n LEFT JOIN per_household p ON p.household_id = n.id
            RETURNING village_code, has_fibre, coverage_ids
        )
        SELECT array_agg((village_code, coverage_ids, n, f)::village_coverage_delta) INTO deltas
        FROM (
            SELECT village_code, coverage_ids, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM added WHERE village_code IS NOT NULL GROUP BY village_code, coverage_ids
        ) g;
    END IF;
    PERFORM village_coverage_apply(deltas);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION household_served_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE household_served;
    IF TG_TABLE_NAME = 'household' THEN
        TRUNCATE household_coverage, village_coverage_summary;
    ELSE
        UPDATE household_coverage SET coverage_ids = '{}' WHERE coverage_ids <> '{}';
        PERFORM village_coverage_summarise();  -- every household now unserved
    END IF;
    RETURN NULL;
END $$;

SELECT village_coverage_refresh_all();
"""

# The 0013 functions, as they were (the summary itself is already right).
DOWN = r"""
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

DROP FUNCTION village_coverage_refresh_all();
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
DROP FUNCTION village_coverage_summarise();
DROP FUNCTION village_coverage_apply(village_coverage_delta[]);
DROP FUNCTION coverage_ids_without(bigint[], bigint[]);
DROP FUNCTION coverage_ids_with(bigint[], bigint[]);
DROP TYPE village_coverage_delta;
ALTER TABLE village_coverage_summary DROP CONSTRAINT village_coverage_summary_counts;
DROP TABLE household_coverage;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
