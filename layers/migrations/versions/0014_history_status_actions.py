"""Growing-area history names status actions: suspend, reinstate and revoke, not "update".

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-02

The history trigger names a version by what happened to the area: an UPDATE that changes the
status is the status action it is (active -> suspended: ``suspend``; suspended -> active:
``reinstate``; -> revoked: ``revoke``), whatever client wrote it; any other UPDATE stays
``update``. Versions already recorded are renamed the same way (by comparing each version's
status with the one before it), so older timelines read like new ones.
"""

from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE growing_area_history DROP CONSTRAINT history_operation;
ALTER TABLE growing_area_history ADD CONSTRAINT history_operation
    CHECK (operation IN ('insert', 'update', 'delete', 'suspend', 'reinstate', 'revoke'));

CREATE OR REPLACE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ growing_area;
    action text := lower(TG_OP);
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status THEN
        action := CASE NEW.status
            WHEN 'suspended' THEN 'suspend'
            WHEN 'revoked' THEN 'revoke'
            WHEN 'active' THEN 'reinstate'
            ELSE 'update' END;
    END IF;
    INSERT INTO growing_area_history
        (growing_area_id, version, operation, changed_by, record, geom)
    VALUES (
        row_.id, row_.version, action,
        coalesce(nullif(current_setting('agrimap.user', true), ''), session_user),
        to_jsonb(row_) - 'geom', row_.geom
    );
    RETURN NULL;
END $$;

WITH ordered AS (
    SELECT id, operation, record ->> 'status' AS status,
           lag(record ->> 'status') OVER (PARTITION BY growing_area_id ORDER BY id) AS before
    FROM growing_area_history
)
UPDATE growing_area_history h
SET operation = CASE o.status
    WHEN 'suspended' THEN 'suspend' WHEN 'revoked' THEN 'revoke' ELSE 'reinstate' END
FROM ordered o
WHERE h.id = o.id AND o.operation = 'update' AND o.before IS DISTINCT FROM o.status
  AND o.before IS NOT NULL AND o.status IN ('suspended', 'revoked', 'active');
"""

DOWN = r"""
UPDATE growing_area_history SET operation = 'update'
WHERE operation IN ('suspend', 'reinstate', 'revoke');
ALTER TABLE growing_area_history DROP CONSTRAINT history_operation;
ALTER TABLE growing_area_history ADD CONSTRAINT history_operation
    CHECK (operation IN ('insert', 'update', 'delete'));

CREATE OR REPLACE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ growing_area;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    INSERT INTO growing_area_history
        (growing_area_id, version, operation, changed_by, record, geom)
    VALUES (
        row_.id, row_.version, lower(TG_OP),
        coalesce(nullif(current_setting('agrimap.user', true), ''), session_user),
        to_jsonb(row_) - 'geom', row_.geom
    );
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
