"""Layer versions for tile caches that are never stale.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Every statement that changes a layer table bumps that layer's version in the same
transaction and sends NOTIFY agrimap_layers; caches key tiles by the versions they were
made from, so a change is visible to the next request of every server process.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("province", "commune", "village", "growing_area", "soil_zone", "soil_raster",
          "household", "coverage")  # fmt: skip

UP = r"""
CREATE TABLE layer_version (
    layer text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION layer_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    INSERT INTO layer_version AS l (layer, version) VALUES (TG_TABLE_NAME, 2)
    ON CONFLICT (layer) DO UPDATE SET version = l.version + 1, changed_at = now()
    RETURNING version INTO v;
    PERFORM pg_notify('agrimap_layers', TG_TABLE_NAME || ':' || v);
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UP)
    for table in TABLES:
        op.execute(f"INSERT INTO layer_version (layer) VALUES ('{table}')")  # noqa: S608 - our names
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_version ON {table}")
    op.execute("DROP FUNCTION layer_version_bump(); DROP TABLE layer_version;")
