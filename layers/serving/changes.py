"""Layer changes as the database announces them: the NOTIFY channel the triggers of migration
0006 send on, and each layer's version (layer_version), read by the server's change listener."""

from __future__ import annotations

from psycopg import AsyncConnection, sql

CHANNEL = "agrimap_layers"
VERSIONS_SQL = "SELECT layer, version FROM layer_version"


async def listen(conn: AsyncConnection) -> None:
    """Subscribe ``conn`` (autocommit) to every layer change."""
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))


async def layer_versions(conn: AsyncConnection) -> dict[str, int]:
    """Each changed layer's version: it grows with every committed write to the layer."""
    rows = await (await conn.execute(VERSIONS_SQL, prepare=True)).fetchall()
    return dict(rows)
