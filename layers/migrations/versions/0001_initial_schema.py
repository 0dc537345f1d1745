"""Initial schema: administrative units and the four layers, in SRID 4326 with GiST indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _geom(kind: str, nullable: bool = False) -> sa.Column:
    return sa.Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


def _valid_geom_check(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))", name=f"{table}_geom_valid"
    )


def _gist(table: str) -> None:
    op.create_index(f"{table}_geom_gist", table, ["geom"], postgresql_using="gist")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "import_batch",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("source_crs", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False),
        sa.Column("features_read", sa.Integer, nullable=False),
        sa.Column("features_imported", sa.Integer, nullable=False),
        sa.Column("features_repaired", sa.Integer, nullable=False),
        sa.Column("features_rejected", sa.Integer, nullable=False),
        sa.Column("imported_by", sa.Text, nullable=False),
        sa.Column(
            "imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )

    # Administrative units (đơn vị hành chính). Codes are the statistics office's; since the
    # 1 July 2025 reform a unit keeps one of the old codes, and `old_codes` lists the units
    # merged into it so that codes issued before the reform still resolve.
    op.create_table(
        "province",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("old_codes", sa.ARRAY(sa.Text), server_default="{}", nullable=False),
        _geom("MULTIPOLYGON", nullable=True),
        _valid_geom_check("province"),
        sa.CheckConstraint("code ~ '^[0-9]{2}$'", name="province_code_format"),
    )
    op.create_table(
        "commune",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("province_code", sa.Text, sa.ForeignKey("province.code"), nullable=False),
        _geom("MULTIPOLYGON", nullable=True),
        _valid_geom_check("commune"),
        sa.CheckConstraint("code ~ '^[0-9]{5}$'", name="commune_code_format"),
    )
    op.create_table(
        "commune_former_code",
        sa.Column("province_code", sa.Text, nullable=False),
        sa.Column("district_code", sa.Text, nullable=True),
        sa.Column("commune_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("current_commune_code", sa.Text, sa.ForeignKey("commune.code"), nullable=False),
        sa.PrimaryKeyConstraint("commune_code", name="commune_former_code_pkey"),
    )
    op.create_table(
        "village",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("commune_code", sa.Text, sa.ForeignKey("commune.code"), nullable=False),
        _geom("MULTIPOLYGON", nullable=True),
        _valid_geom_check("village"),
        sa.UniqueConstraint("commune_code", "name", name="village_name_unique_in_commune"),
    )
    for table in ("province", "commune", "village"):
        _gist(table)

    # Growing areas (vùng trồng) with their code (mã số vùng trồng).
    op.create_table(
        "growing_area",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("crop", sa.Text, nullable=False),
        sa.Column("area_ha", sa.Numeric(12, 4), nullable=False),
        sa.Column("cooperative", sa.Text, nullable=True),
        sa.Column("owner_name", sa.Text, nullable=True),  # personal data when a person
        sa.Column("member_households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("issued_on", sa.Date, nullable=True),
        sa.Column("commune_code", sa.Text, sa.ForeignKey("commune.code"), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "import_batch_id", sa.BigInteger, sa.ForeignKey("import_batch.id"), nullable=True
        ),
        *_timestamps(),
        _geom("MULTIPOLYGON"),
        _valid_geom_check("growing_area"),
        sa.CheckConstraint("area_ha > 0", name="growing_area_area_positive"),
        sa.CheckConstraint("member_households >= 0", name="growing_area_members_nonnegative"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked')", name="growing_area_status_known"
        ),
        sa.CheckConstraint("length(btrim(code)) > 0", name="growing_area_code_not_blank"),
    )
    _gist("growing_area")
    op.create_index("growing_area_commune", "growing_area", ["commune_code"])
    op.create_table(
        "growing_area_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("growing_area_id", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("record", sa.dialects.postgresql.JSONB, nullable=False),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint("operation IN ('insert', 'update', 'delete')", name="history_operation"),
    )
    op.create_index(
        "growing_area_history_area", "growing_area_history", ["growing_area_id", "version"]
    )
    # Every version is kept by the database itself, whatever client writes.
    op.execute(
        """
        CREATE FUNCTION growing_area_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.version := OLD.version + 1;
            NEW.updated_at := now();
            RETURN NEW;
        END $$;
        CREATE TRIGGER growing_area_bump_version BEFORE UPDATE ON growing_area
            FOR EACH ROW EXECUTE FUNCTION growing_area_bump_version();

        CREATE FUNCTION growing_area_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
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
        CREATE TRIGGER growing_area_record_history
            AFTER INSERT OR UPDATE OR DELETE ON growing_area
            FOR EACH ROW EXECUTE FUNCTION growing_area_record_history();
        """
    )

    # Soil fertility (bản đồ nông hóa thổ nhưỡng): raster catalogue and classified zones.
    properties = (
        "('ph_kcl', 'om', 'oc', 'n', 'p2o5', 'p2o5_available', 'k2o', 'k2o_available', 'cec')"
    )
    op.create_table(
        "soil_raster",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("property", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("depth_cm", sa.Text, nullable=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("surveyed_on", sa.Date, nullable=True),
        sa.Column("stats", sa.dialects.postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column(
            "import_batch_id", sa.BigInteger, sa.ForeignKey("import_batch.id"), nullable=True
        ),
        _geom("POLYGON"),
        _valid_geom_check("soil_raster"),
        sa.CheckConstraint(f"property IN {properties}", name="soil_raster_property_known"),
    )
    op.create_table(
        "soil_zone",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("property", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("grade", sa.Text, nullable=False),
        sa.Column("survey", sa.Text, nullable=True),
        sa.Column(
            "import_batch_id", sa.BigInteger, sa.ForeignKey("import_batch.id"), nullable=True
        ),
        _geom("MULTIPOLYGON"),
        _valid_geom_check("soil_zone"),
        sa.CheckConstraint(f"property IN {properties}", name="soil_zone_property_known"),
    )
    for table in ("soil_raster", "soil_zone"):
        _gist(table)

    # Households (hộ gia đình): head_name and phone are personal data (Law 91/2025/QH15).
    op.create_table(
        "household",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("village_code", sa.Text, sa.ForeignKey("village.code"), nullable=True),
        sa.Column("head_name", sa.Text, nullable=True),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("has_fibre", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "qr_token",
            sa.Text,
            nullable=False,
            unique=True,
            # 122 random bits from gen_random_uuid: unguessable, made in the database so
            # that COPY of a million rows needs no round trip.
            server_default=sa.text("replace(gen_random_uuid()::text, '-', '')"),
        ),
        sa.Column(
            "import_batch_id", sa.BigInteger, sa.ForeignKey("import_batch.id"), nullable=True
        ),
        *_timestamps(),
        _geom("POINT"),
        _valid_geom_check("household"),
        sa.CheckConstraint(
            "phone IS NULL OR phone ~ '^\\+?[0-9]{9,12}$'", name="household_phone_format"
        ),
    )
    _gist("household")
    op.create_index("household_village", "household", ["village_code"])

    # Telecom coverage (vùng phủ sóng) by operator and technology.
    op.create_table(
        "coverage",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("technology", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("observed_on", sa.Date, nullable=True),
        sa.Column(
            "import_batch_id", sa.BigInteger, sa.ForeignKey("import_batch.id"), nullable=True
        ),
        _geom("MULTIPOLYGON"),
        _valid_geom_check("coverage"),
        sa.CheckConstraint(
            "technology IN ('2G', '3G', '4G', '5G', 'fibre')", name="coverage_technology_known"
        ),
    )
    _gist("coverage")


def downgrade() -> None:
    for table in (
        "coverage",
        "household",
        "soil_zone",
        "soil_raster",
        "growing_area_history",
        "growing_area",
        "village",
        "commune_former_code",
        "commune",
        "province",
        "import_batch",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS growing_area_bump_version()")
    op.execute("DROP FUNCTION IF EXISTS growing_area_record_history()")
