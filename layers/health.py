"""What a load balancer asks the database: is it there, and is its schema the one we serve."""

from __future__ import annotations

from psycopg import AsyncConnection

REVISION_SQL = "SELECT version_num FROM alembic_version"


async def schema_revision(conn: AsyncConnection) -> str | None:
    """The database's alembic revision (None when it was never migrated)."""
    cur = await conn.execute(
        "SELECT to_regclass('public.alembic_version') IS NOT NULL", prepare=False
    )
    exists = (await cur.fetchone())[0]
    if not exists:
        return None
    row = await (await conn.execute(REVISION_SQL)).fetchone()
    return row[0] if row else None
