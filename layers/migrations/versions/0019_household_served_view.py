"""household_coverage is the only store of who is served; household_served becomes a view.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-03

Since 0017 every pair (household, coverage polygon) was written twice: a row of
household_served and a member of the household's sorted set in household_coverage. A
province's import (one polygon, the union of its towers, serving ~820,000 households at
1,000,000) paid 3.9 s of server CPU for household_served's rows and their two indexes on top of
the 3.5 s of the sets' UPDATE. Now the set is the only store and household_served is a view
that unnests it (same columns: coverage_id, household_id, version_id, the version read from
the polygon): readers keep working, each household is written once per import. A polygon
removed or re-shaped finds its households by `coverage_ids && removed` (a scan of the sets,
no index: a GIN index would cost every import its upkeep and end the HOT updates).

Coverage is matched in pieces kept with it: coverage_piece holds each polygon cut into parts of
at most 32 vertices (ST_Subdivide), with a GiST index. A province's import matches households
against its pieces (as 0008 did, cut on the fly), and a household added or moved is tested
against the few pieces around it instead of every whole polygon (a province's union of towers
is one multipolygon of tens of thousands of vertices: ST_Covers against it cost ~30 s per
100,000 households inserted at 1,000,000). A point on a cut lies in both pieces (ST_Covers:
the boundary is covered), so the pairs are made distinct; a household exactly on a polygon's
boundary stays served.

Only a change of shape matches again: a polygon's version is read through the view, so a
version or tier edit moves no household. The triggers stay on the same tables and events
(0008, 0015): statement-level, with transition tables, on the parent of the partitioned
household table (writes must name the parent).
"""

from alembic import op

from layers.migrations import sibling

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE coverage_piece (
    coverage_id bigint NOT NULL,
    geom geometry NOT NULL
);
COMMENT ON TABLE coverage_piece IS
    'Each coverage polygon cut into pieces of at most 32 vertices (mảnh vùng phủ), kept by '
    'the coverage triggers: households are matched against pieces, not whole polygons.';
INSERT INTO coverage_piece (coverage_id, geom)
SELECT c.id, p.geom FROM coverage c CROSS JOIN LATERAL ST_Subdivide(c.geom, 32) AS p(geom);
CREATE INDEX coverage_piece_geom ON coverage_piece USING gist (geom);
CREATE INDEX coverage_piece_coverage ON coverage_piece (coverage_id);

-- The sets hold what household_served held (0017 keeps them equal).
DROP TABLE household_served;
CREATE VIEW household_served AS
SELECT u.coverage_id, hc.household_id, c.version_id
FROM household_coverage hc
CROSS JOIN LATERAL unnest(hc.coverage_ids) AS u(coverage_id)
JOIN coverage c ON c.id = u.coverage_id;
COMMENT ON VIEW household_served IS
    'Each (coverage polygon, household) it covers, with the polygon''s version: the sets of '
    'household_coverage unnested (hộ có sóng).';

-- The repair tool and the tests' reference: pieces, sets and summary from a fresh spatial join.
DROP FUNCTION village_coverage_refresh_all();
CREATE FUNCTION village_coverage_refresh_all() RETURNS void LANGUAGE sql AS $$
    TRUNCATE coverage_piece;
    INSERT INTO coverage_piece (coverage_id, geom)
    SELECT c.id, p.geom FROM coverage c CROSS JOIN LATERAL ST_Subdivide(c.geom, 32) AS p(geom);
    TRUNCATE household_coverage;
    INSERT INTO household_coverage (household_id, village_code, has_fibre, coverage_ids)
    SELECT h.id, h.village_code, h.has_fibre, coalesce(s.ids, '{}')
    FROM household h
    LEFT JOIN (
        SELECT h.id, array_agg(DISTINCT p.coverage_id ORDER BY p.coverage_id) AS ids
        FROM coverage_piece p JOIN household h ON ST_Covers(p.geom, h.geom)
        GROUP BY h.id
    ) s ON s.id = h.id;
    SELECT village_coverage_summarise();
$$;
ALTER FUNCTION village_coverage_refresh_all() SET work_mem = '128MB';

-- Coverage added, re-shaped or removed: only the polygons whose shape changed (or that came or
-- went) are matched again. Removal runs before addition: a re-shaped polygon leaves its old
-- households' sets before it joins its new ones'. One polygon, the usual change, is written
-- out in the UPDATEs: coverage_ids_with/_without are not inlined (they hold a sub-select), and
-- a call costs tens of microseconds, a million times over.
CREATE OR REPLACE FUNCTION household_served_from_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed bigint[] := '{}';
    added bigint[] := '{}';
    deltas village_coverage_delta[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(o.id), '{}') INTO removed
        FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE n.id IS NULL OR o.geom IS DISTINCT FROM n.geom;
        SELECT coalesce(array_agg(n.id), '{}') INTO added
        FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR o.geom IS DISTINCT FROM n.geom;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT coalesce(array_agg(id), '{}') INTO removed FROM old_rows;
    ELSE
        SELECT coalesce(array_agg(id), '{}') INTO added FROM new_rows;
    END IF;
    IF cardinality(removed) > 0 THEN
        DELETE FROM coverage_piece WHERE coverage_id = ANY (removed);
        WITH hit AS (
            SELECT household_id, CASE WHEN cardinality(removed) = 1 THEN removed
                ELSE ARRAY(SELECT u FROM unnest(coverage_ids) AS t(u) WHERE u = ANY (removed))
                END AS ids
            FROM household_coverage WHERE coverage_ids && removed
        ), moved AS (
            UPDATE household_coverage hc
            SET coverage_ids = CASE WHEN cardinality(p.ids) = 1
                THEN array_remove(hc.coverage_ids, p.ids[1])
                ELSE coverage_ids_without(hc.coverage_ids, p.ids) END
            FROM hit p WHERE hc.household_id = p.household_id
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
    IF cardinality(added) > 0 THEN
        INSERT INTO coverage_piece (coverage_id, geom)
        SELECT c.id, p.geom
        FROM new_rows c CROSS JOIN LATERAL ST_Subdivide(c.geom, 32) AS p(geom)
        WHERE c.id = ANY (added);
    END IF;
    IF cardinality(added) = 1 THEN
        -- One polygon (a province's import): the households it covers, each once (a point on
        -- a cut lies in two pieces), sorted so the UPDATE meets them in key order; each gains
        -- the same one-member change, so the groups need no array of their own.
        WITH hit AS (
            SELECT DISTINCT h.id AS household_id
            FROM coverage_piece p JOIN household h ON ST_Covers(p.geom, h.geom)
            WHERE p.coverage_id = added[1]
            ORDER BY 1
        ), moved AS (
            UPDATE household_coverage hc
            SET coverage_ids = CASE WHEN cardinality(hc.coverage_ids) = 0
                    OR hc.coverage_ids[cardinality(hc.coverage_ids)] < added[1]
                THEN hc.coverage_ids || added
                ELSE coverage_ids_with(hc.coverage_ids, added) END
            FROM hit WHERE hc.household_id = hit.household_id
            RETURNING hc.village_code, hc.has_fibre, hc.coverage_ids
        ), grouped AS (
            SELECT village_code, coverage_ids, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM moved WHERE village_code IS NOT NULL
            GROUP BY village_code, coverage_ids
        )
        SELECT array_agg(d) INTO deltas FROM (
            SELECT (village_code, coverage_ids, n, f)::village_coverage_delta AS d FROM grouped
            UNION ALL
            SELECT (village_code, array_remove(coverage_ids, added[1]), -n, -f)::village_coverage_delta
            FROM grouped
        ) x;
        PERFORM village_coverage_apply(deltas);
    ELSIF cardinality(added) > 1 THEN
        -- One sort drops the pairs found twice (a point on a cut between two pieces) and
        -- orders them by household, then polygon: the sets come out sorted, and the UPDATE
        -- meets the households in key order.
        WITH pairs AS (
            SELECT DISTINCT h.id AS household_id, p.coverage_id
            FROM coverage_piece p JOIN household h ON ST_Covers(p.geom, h.geom)
            WHERE p.coverage_id = ANY (added)
            ORDER BY 1, 2
        ), per_household AS (
            SELECT household_id, array_agg(coverage_id) AS ids FROM pairs GROUP BY household_id
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
ALTER FUNCTION household_served_from_coverage() SET work_mem = '128MB';

-- Households added, moved, re-assigned to a village, fibre changed or deleted: each leaves its
-- old (village, set) and joins its new one. A household added or moved is matched against the
-- pieces around it (the GiST index of coverage_piece).
CREATE OR REPLACE FUNCTION household_served_from_household() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deltas village_coverage_delta[];
BEGIN
    IF TG_OP = 'DELETE' THEN
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
        WITH changed AS (
            SELECT n.id, n.village_code, n.has_fibre, n.geom,
                   o.geom IS DISTINCT FROM n.geom AS moved
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
                    (SELECT array_agg(DISTINCT p.coverage_id ORDER BY p.coverage_id)
                     FROM coverage_piece p WHERE ST_Covers(p.geom, c.geom)), '{}')
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
        WITH per_household AS (
            SELECT n.id AS household_id,
                   array_agg(DISTINCT p.coverage_id ORDER BY p.coverage_id) AS ids
            FROM new_rows n JOIN coverage_piece p ON ST_Covers(p.geom, n.geom)
            GROUP BY n.id
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
    IF TG_TABLE_NAME = 'household' THEN
        TRUNCATE household_coverage, village_coverage_summary;
    ELSE
        TRUNCATE coverage_piece;
        UPDATE household_coverage SET coverage_ids = '{}' WHERE coverage_ids <> '{}';
        PERFORM village_coverage_summarise();  -- every household now unserved
    END IF;
    RETURN NULL;
END $$;

ANALYZE coverage_piece;
"""

# household_served as a table again (its rows from the view), then 0017's functions.
DOWN_TABLE = r"""
CREATE TABLE household_served_rows AS
SELECT coverage_id, household_id, version_id FROM household_served;
DROP VIEW household_served;
ALTER TABLE household_served_rows RENAME TO household_served;
ALTER TABLE household_served ALTER COLUMN coverage_id SET NOT NULL,
    ALTER COLUMN household_id SET NOT NULL, ALTER COLUMN version_id SET NOT NULL,
    ADD PRIMARY KEY (coverage_id, household_id);
CREATE INDEX household_served_household ON household_served (household_id);
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
"""


def _functions_of_0017() -> str:
    """0017's trigger functions, as it defined them (from its own text, not a copy)."""
    module = sibling("0017_household_coverage_sets.py")
    start = module.UP.index("CREATE OR REPLACE FUNCTION household_served_from_coverage()")
    end = module.UP.rindex("SELECT village_coverage_refresh_all();")
    return module.UP[start:end]


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN_TABLE)
    op.execute(_functions_of_0017())
    op.execute("DROP TABLE coverage_piece")
