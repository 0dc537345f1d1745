"""Growing-area registry: serial counters, status changes with reasons, notes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UP = r"""
-- The last serial handed out per commune and year. Taken with INSERT … ON CONFLICT DO
-- UPDATE … RETURNING: the row lock makes concurrent requests wait their turn, so no two
-- ever get the same serial; a rolled-back registration leaves a gap, never a duplicate.
CREATE TABLE growing_area_serial (
    commune_code text NOT NULL CHECK (commune_code ~ '^[0-9]{5}$'),
    year integer NOT NULL CHECK (year BETWEEN 2000 AND 2099),
    last_serial integer NOT NULL CHECK (last_serial >= 0),
    PRIMARY KEY (commune_code, year)
);

ALTER TABLE growing_area
    ADD COLUMN note text,
    ADD COLUMN status_reason text,
    ADD COLUMN status_changed_on date,
    ADD COLUMN registered_by text;
ALTER TABLE growing_area ADD CONSTRAINT growing_area_status_reason
    CHECK (status = 'active' OR status_reason IS NOT NULL OR import_batch_id IS NOT NULL);
CREATE INDEX growing_area_active_geom ON growing_area USING gist (geom) WHERE status = 'active';
"""

DOWN = r"""
DROP INDEX growing_area_active_geom;
ALTER TABLE growing_area DROP CONSTRAINT growing_area_status_reason;
ALTER TABLE growing_area DROP COLUMN note, DROP COLUMN status_reason,
    DROP COLUMN status_changed_on, DROP COLUMN registered_by;
DROP TABLE growing_area_serial;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
