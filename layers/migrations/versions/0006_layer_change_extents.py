"""Layer changes say where they happened, so caches drop only the tiles they touch.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

0005 bumped a layer's version on every statement. Now one trigger per event (transition
tables allow only one) reads the rows the statement changed and sends
NOTIFY agrimap_layers '<table>:<version>:<xmin>,<ymin>,<xmax>,<ymax>' with the extent (EPSG:4326)
of the old and new geometries, or '<table>:<version>:*' when the extent is unknown
(TRUNCATE, rows without geometry). A statement that changed no row sends nothing.
The version is still bumped in the same transaction, and the NOTIFY is delivered at commit.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("province", "commune", "village", "growing_area", "soil_zone", "soil_raster",
          "household", "coverage")  # fmt: skip

UP = r"""
CREATE FUNCTION layer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
    box box2d;
    v bigint;
    area text := '*';
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*), ST_Extent(geom) INTO n, box FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*), ST_Extent(geom) INTO n, box FROM old_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT count(*), ST_Extent(geom) INTO n, box
        FROM (SELECT geom FROM old_rows UNION ALL SELECT geom FROM new_rows) c;
    ELSE
        n := 1;  -- TRUNCATE: everything may have changed
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF box IS NOT NULL THEN
        area := concat_ws(',', ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box));
    END IF;
    INSERT INTO layer_version AS l (layer, version) VALUES (TG_TABLE_NAME, 2)
    ON CONFLICT (layer) DO UPDATE SET version = l.version + 1, changed_at = now()
    RETURNING version INTO v;
    PERFORM pg_notify('agrimap_layers', TG_TABLE_NAME || ':' || v || ':' || area);
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UP)
    for t in TABLES:
        op.execute(f"DROP TRIGGER {t}_version ON {t}")
        op.execute(
            f"CREATE TRIGGER {t}_inserted AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION layer_changed();"
            f"CREATE TRIGGER {t}_updated AFTER UPDATE ON {t} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION layer_changed();"
            f"CREATE TRIGGER {t}_deleted AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION layer_changed();"
            f"CREATE TRIGGER {t}_truncated AFTER TRUNCATE ON {t} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION layer_changed();"
        )


def downgrade() -> None:
    for t in TABLES:
        for event in ("inserted", "updated", "deleted", "truncated"):
            op.execute(f"DROP TRIGGER {t}_{event} ON {t}")
        op.execute(
            f"CREATE TRIGGER {t}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {t} FOR EACH STATEMENT EXECUTE FUNCTION layer_version_bump()"
        )
    op.execute("DROP FUNCTION layer_changed()")
