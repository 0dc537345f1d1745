"""Imports: the communes an import's rows lie in, and the account that made it (the web import).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

An officer sees, and may undo, the imports of their communes: ``import_batch.communes`` holds the
communes of the file's rows (set by the import itself, set-wise from its staging table), and
``imported_by_id`` the signed-in account of an import made in the browser (NULL for the
operator's command line). Imports made before are filled from the rows they brought.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE import_batch
    ADD COLUMN communes text[],
    ADD COLUMN imported_by_id bigint REFERENCES app_user(id) ON DELETE SET NULL;
CREATE INDEX import_batch_communes ON import_batch USING gin (communes);
UPDATE import_batch b SET communes = c.communes
FROM (
    SELECT import_batch_id AS id, array_agg(DISTINCT commune_code ORDER BY commune_code) AS communes
    FROM (
        SELECT import_batch_id, commune_code FROM village
        UNION ALL SELECT import_batch_id, commune_code FROM growing_area
        UNION ALL SELECT import_batch_id, commune_code FROM household
    ) r
    WHERE import_batch_id IS NOT NULL AND commune_code IS NOT NULL
    GROUP BY import_batch_id
) c
WHERE c.id = b.id;
"""

DOWN = r"""
DROP INDEX import_batch_communes;
ALTER TABLE import_batch DROP COLUMN communes, DROP COLUMN imported_by_id;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
