"""Soil maps (issue 16): how a raster was made and how reliable it is; zones derived from it.

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-02

soil_raster gains the method that made it (imported, idw, ordinary_kriging) with its
parameters, the leave-one-out cross-validation (RMSE, bias in the raster's unit), its cell size
in metres, its band count (band 2 of a kriged raster is the kriging standard deviation) and
the original unit when values were converted into the class table's. soil_zone gains
raster_id: zones graded from a raster by the class table, replaced whenever it is re-graded.
"""

from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None

UP = r"""
ALTER TABLE soil_raster
    ADD COLUMN method text NOT NULL DEFAULT 'imported',
    ADD COLUMN params jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN reliability jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN cell_m double precision,
    ADD COLUMN bands integer NOT NULL DEFAULT 1,
    ADD COLUMN source_unit text,
    ADD CONSTRAINT soil_raster_method_known
        CHECK (method IN ('imported', 'idw', 'ordinary_kriging'));
ALTER TABLE soil_zone
    ADD COLUMN raster_id bigint REFERENCES soil_raster (id) ON DELETE CASCADE;
CREATE INDEX soil_zone_raster_id ON soil_zone (raster_id);
"""

DOWN = r"""
DROP INDEX IF EXISTS soil_zone_raster_id;
ALTER TABLE soil_zone DROP COLUMN raster_id;
ALTER TABLE soil_raster
    DROP CONSTRAINT soil_raster_method_known,
    DROP COLUMN method, DROP COLUMN params, DROP COLUMN reliability, DROP COLUMN cell_m,
    DROP COLUMN bands, DROP COLUMN source_unit;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
