"""One rule for the village an area lies in: the village of its commune holding most of it (an
area across a village boundary is named after its larger part). The growing-area list, its
village filter, the area's page and every export all ask this function.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03
"""

from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

UP = r"""
CREATE FUNCTION growing_area_village(area geometry, commune text)
RETURNS TABLE (code text, name text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT v.code, v.name FROM village v
    WHERE v.commune_code = commune AND ST_Intersects(v.geom, area)
    ORDER BY ST_Area(ST_Intersection(v.geom, area)) DESC, v.code
    LIMIT 1
$$;
COMMENT ON FUNCTION growing_area_village(geometry, text) IS
    'The village of the commune holding most of an area (ties: the lower code).';
"""

DOWN = "DROP FUNCTION growing_area_village(geometry, text);"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
