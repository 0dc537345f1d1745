"""Imports: household codes scoped to their commune, what an import batch was (file hash, mode,
column mapping), villages know the import that brought them.

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-02

A household's commune is kept on the row (``household.commune_code``, set from its village by the
scope trigger, which already looked it up), so that its code is unique per commune rather than
across the country: two communes may both number their households H001. A bulk import computes
the commune set-wise and passes it in; the trigger then skips the per-row lookup.
"""

from alembic import op

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE import_batch
    ADD COLUMN file_sha256 text,
    ADD COLUMN mode text,
    ADD COLUMN commune_code text,
    ADD COLUMN columns jsonb,
    ADD COLUMN features_updated integer NOT NULL DEFAULT 0,
    ADD COLUMN features_removed integer NOT NULL DEFAULT 0,
    ADD COLUMN undone_at timestamptz,
    ADD COLUMN undone_by text;
CREATE INDEX import_batch_file ON import_batch (layer, file_sha256);

ALTER TABLE village ADD COLUMN import_batch_id bigint REFERENCES import_batch(id);

ALTER TABLE household ADD COLUMN commune_code text;
UPDATE household h SET commune_code = v.commune_code FROM village v WHERE v.code = h.village_code;
ALTER TABLE household DROP CONSTRAINT household_code_key;
ALTER TABLE household ADD CONSTRAINT household_code_unique_in_commune
    UNIQUE NULLS NOT DISTINCT (commune_code, code);
CREATE INDEX household_import_batch ON household (import_batch_id);
CREATE INDEX growing_area_import_batch ON growing_area (import_batch_id);

CREATE OR REPLACE FUNCTION household_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(household_commune(OLD.village_code));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.village_code IS DISTINCT FROM OLD.village_code THEN
            -- A bulk import has placed the rows set-wise; any other write looks it up.
            IF NEW.commune_code IS NULL OR current_setting('agrimap.bulk', true) IS DISTINCT FROM 'on' THEN
                NEW.commune_code := household_commune(NEW.village_code);
            END IF;
            PERFORM agrimap_require_write(NEW.commune_code);
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

-- A bulk import by the operator (system, who may write in every commune) has placed its rows
-- set-wise: the per-row scope trigger and the per-row audit (one audit row per batch instead)
-- are not even called for them. A signed-in officer's import still goes through both.
DROP TRIGGER household_scope ON household;
CREATE TRIGGER household_scope BEFORE UPDATE OR DELETE ON household
    FOR EACH ROW EXECUTE FUNCTION household_scope();
CREATE TRIGGER household_scope_insert BEFORE INSERT ON household
    FOR EACH ROW WHEN (NEW.commune_code IS NULL
                       OR current_setting('agrimap.bulk', true) IS DISTINCT FROM 'on'
                       OR current_setting('agrimap.system', true) IS DISTINCT FROM 'on'
                       OR nullif(current_setting('agrimap.user_id', true), '') IS NOT NULL)
    EXECUTE FUNCTION household_scope();
DROP TRIGGER household_audit ON household;
CREATE TRIGGER household_audit AFTER INSERT OR UPDATE OR DELETE ON household
    FOR EACH ROW WHEN (current_setting('agrimap.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION audit_row_change();
"""

DOWN = r"""
DROP TRIGGER household_audit ON household;
CREATE TRIGGER household_audit AFTER INSERT OR UPDATE OR DELETE ON household
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
DROP TRIGGER household_scope_insert ON household;
DROP TRIGGER household_scope ON household;
CREATE TRIGGER household_scope BEFORE INSERT OR UPDATE OR DELETE ON household
    FOR EACH ROW EXECUTE FUNCTION household_scope();
CREATE OR REPLACE FUNCTION household_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM agrimap_require_write(household_commune(OLD.village_code));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.village_code IS DISTINCT FROM OLD.village_code THEN
            PERFORM agrimap_require_write(household_commune(NEW.village_code));
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
DROP INDEX growing_area_import_batch;
DROP INDEX household_import_batch;
ALTER TABLE household DROP CONSTRAINT household_code_unique_in_commune;
ALTER TABLE household ADD CONSTRAINT household_code_key UNIQUE (code);
ALTER TABLE household DROP COLUMN commune_code;
ALTER TABLE village DROP COLUMN import_batch_id;
DROP INDEX import_batch_file;
ALTER TABLE import_batch DROP COLUMN file_sha256, DROP COLUMN mode, DROP COLUMN commune_code,
    DROP COLUMN columns, DROP COLUMN features_updated, DROP COLUMN features_removed,
    DROP COLUMN undone_at, DROP COLUMN undone_by;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
