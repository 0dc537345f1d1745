"""The whole database at once, for backup and restore: row counts, schema revision, the raster
files it refers to, whether it holds data, and the scripts a restore runs around the dump."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import psycopg
from psycopg import sql

# A restore refuses to replace a database holding a row in any of these (layers, accounts,
# the audit trail) unless told to.
GUARDED_TABLES = (
    "province", "commune", "commune_former_code", "village", "growing_area",
    "growing_area_history", "soil_zone", "soil_raster", "household", "coverage", "import_batch",
    "app_user", "api_token", "audit_log",
)  # fmt: skip

TABLES_SQL = (
    "SELECT schemaname, tablename FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
)
RASTER_PATHS_SQL = "SELECT path FROM soil_raster ORDER BY path"
REVISION_SQL = "SELECT version_num FROM alembic_version"


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()[0] is not None


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    """``schema.table`` -> row count, for every table of ours and of the extensions."""
    return {
        f"{schema}.{table}": conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        ).fetchone()[0]
        for schema, table in conn.execute(TABLES_SQL).fetchall()
    }


def schema_revision(conn: psycopg.Connection) -> str | None:
    """The alembic revision, or None for a database never migrated."""
    if not _exists(conn, "alembic_version"):
        return None
    row = conn.execute(REVISION_SQL).fetchone()
    return row[0] if row else None


def raster_paths(conn: psycopg.Connection) -> list[str]:
    """Every file ``soil_raster.path`` refers to (the rasters live on disk, not in the database)."""
    if not _exists(conn, "soil_raster"):
        return []
    return [path for (path,) in conn.execute(RASTER_PATHS_SQL)]


def tables_with_rows(conn: psycopg.Connection) -> list[str]:
    """The guarded tables that hold at least one row: a database with none is empty to restore."""
    return [
        table
        for table in GUARDED_TABLES
        if _exists(conn, table)
        and conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{})").format(
                sql.Identifier("public"), sql.Identifier(table)
            )
        ).fetchone()[0]
    ]


def restore_script(name: str) -> Path:
    """``restore_before.sql`` or ``restore_after.sql``, as a file psql can read (the package is
    installed as files, as alembic's migrations need too)."""
    return Path(str(files("layers") / "sql" / name))
