r"""Two costs of a province's household import: the coverage rows of households no coverage
reaches, and QR tokens compared through the database's collation.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07

**Coverage rows without the match.** Every household has a row in household_coverage, served or
not (0019: the set is the only store of who is served; an unserved household's set is empty and
it counts in its village's summary under the empty set). The INSERT trigger matched the new rows
against coverage_piece one by one and kept the inserted rows (RETURNING) to count them per
village and set. A province's first import, before its coverage is loaded, found nothing: at
1,000,000 households the statement took 4.7 s, most of it for rows in geohash order (the
import's) going into the household_id key at random places.

Now, when no piece's box meets the box of the new rows, no household can be covered
(ST_Covers needs the boxes to meet): every row gets the empty set, written in id order (the key
grows at its right edge), and the summary's deltas are the rows counted per village. Otherwise
the match runs as before, its rows also written in id order. What is stored is the same either
way (tests/layers/test_bulk_import.py compares both paths with a fresh spatial join).

**QR tokens compared bytewise.** ``qr_token`` (household, its partitions, household_key) is
COLLATE "C". Tokens are 14 of ``0-9 A-H J K M N P-T V-Z``: equal, and ordered, the same way in
every collation, but compared through a locale (strcoll, and no abbreviated keys when sorting)
each comparison cost several times a bytewise one. A million tokens went into household_key's
unique index in sorted order and were indexed again in the partition after an import: both
now compare with memcmp. ``qr_token = %s`` takes the column's collation, so lookups use the
same indexes. Changing a column's collation rewrites no table, only the indexes on it.

**The phone check without a counted repetition.** ``phone ~ '^\+?[0-9]{9,12}$'`` cost 0.7 µs a
row (1.0 s of a million-row insert): the regex engine expands ``{9,12}``. The same phones pass
``phone ~ '^\+?[0-9]+$' AND length(ltrim(phone, '+')) BETWEEN 9 AND 12`` (the pattern allows one
leading ``+`` at most, so ``ltrim`` leaves exactly the digits), at about half the cost; the
constraint keeps its name (tests/layers/test_bulk_import.py tries both on the same phones).
"""

from alembic import op

from layers.migrations import sibling

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

# The INSERT branch of household_served_from_household() as 0019 wrote it, and what replaces it.
INSERT_0019 = r"""    ELSE
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
    END IF;"""

INSERT_0022 = r"""    ELSIF NOT EXISTS (
        SELECT 1 FROM coverage_piece p
        WHERE p.geom && (SELECT ST_SetSRID(ST_Extent(n.geom)::geometry, 4326) FROM new_rows n)
    ) THEN
        -- No coverage near the new rows (a province loaded before its coverage): each gets the
        -- empty set, in id order, and counts in its village under it.
        INSERT INTO household_coverage (household_id, village_code, has_fibre, coverage_ids)
        SELECT n.id, n.village_code, n.has_fibre, '{}' FROM new_rows n ORDER BY n.id;
        SELECT array_agg((village_code, '{}'::bigint[], n, f)::village_coverage_delta)
        INTO deltas
        FROM (
            SELECT village_code, count(*)::int AS n,
                   (count(*) FILTER (WHERE has_fibre))::int AS f
            FROM new_rows WHERE village_code IS NOT NULL GROUP BY village_code
        ) g;
"""
# With coverage near: 0019's match, its rows written in id order.
INSERT_0022 += INSERT_0019.replace(
    "FROM new_rows n LEFT JOIN per_household p ON p.household_id = n.id\n",
    "FROM new_rows n LEFT JOIN per_household p ON p.household_id = n.id\n            ORDER BY n.id\n",
)


def _function_of_0019() -> str:
    """household_served_from_household() as 0019 defined it (from its own text, not a copy)."""
    module = sibling("0019_household_served_view.py")
    start = module.UP.index("CREATE OR REPLACE FUNCTION household_served_from_household()")
    end = module.UP.index("CREATE OR REPLACE FUNCTION household_served_truncate()")
    body = module.UP[start:end]
    if INSERT_0019 not in body:
        raise RuntimeError("household_served_from_household() of 0019 has another INSERT branch")
    return body


# household's partitions follow their parent.
TOKENS_BYTEWISE = """
ALTER TABLE household ALTER COLUMN qr_token TYPE text COLLATE "C";
ALTER TABLE household_key ALTER COLUMN qr_token TYPE text COLLATE "C";
"""
TOKENS_BY_DATABASE = """
ALTER TABLE household ALTER COLUMN qr_token TYPE text COLLATE "default";
ALTER TABLE household_key ALTER COLUMN qr_token TYPE text COLLATE "default";
"""


# The two checks, as expressions (the test compares them) and as the constraint.
PHONE_0001 = r"phone IS NULL OR phone ~ '^\+?[0-9]{9,12}$'"
PHONE_0022 = (
    r"phone IS NULL OR (phone ~ '^\+?[0-9]+$' AND length(ltrim(phone, '+')) BETWEEN 9 AND 12)"
)
_PHONE_CHECK = """
ALTER TABLE household DROP CONSTRAINT household_phone_format,
    ADD CONSTRAINT household_phone_format CHECK ("""
PHONE_CHECK_0022 = _PHONE_CHECK + PHONE_0022 + ");"
PHONE_CHECK_0001 = _PHONE_CHECK + PHONE_0001 + ");"


def upgrade() -> None:
    op.execute(_function_of_0019().replace(INSERT_0019, INSERT_0022))
    op.execute(TOKENS_BYTEWISE)
    op.execute(PHONE_CHECK_0022)


def downgrade() -> None:
    op.execute(PHONE_CHECK_0001)
    op.execute(TOKENS_BY_DATABASE)
    op.execute(_function_of_0019())
