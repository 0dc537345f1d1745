"""Layer changes as the database announces them: the NOTIFY channel the triggers of migration
0006 send on, each layer's version (layer_version), read by the server's change listener, and
the write-ahead-log positions that say whether a streaming replica has replayed a change."""

from __future__ import annotations

from psycopg import AsyncConnection, sql

CHANNEL = "agrimap_layers"
# The primary's WAL position is read in the same statement as the versions: every change the
# statement sees committed at a position before it (the replication-position rule).
FENCE_SQL = (
    "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, "
    "coalesce((SELECT json_object_agg(layer, version) FROM layer_version), '{}')"
)
# On a standby: how far it has replayed, whether it is one, and whether replay is paused.
REPLAY_SQL = "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
PRIMARY_LSN_SQL = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"


def prepare(conn: AsyncConnection) -> bool:
    """Whether to prepare a hot statement on ``conn``: not on a connection made with
    prepare_threshold=None (behind PgBouncer in transaction mode, where a prepared statement
    lives on one server connection and the next transaction may run on another)."""
    return conn.prepare_threshold is not None


async def listen(conn: AsyncConnection) -> None:
    """Subscribe ``conn`` (autocommit, a direct connection: not through PgBouncer) to every
    layer change."""
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))


async def layer_versions(conn: AsyncConnection) -> dict[str, int]:
    """Each changed layer's version: it grows with every committed write to the layer."""
    return (await fence(conn))[1]


async def fence(conn: AsyncConnection) -> tuple[int, dict[str, int]]:
    """(the primary's WAL position, each layer's version), read in one statement."""
    cur = await conn.execute(FENCE_SQL, prepare=prepare(conn))
    lsn, versions = await cur.fetchone()
    return int(lsn), {k: int(v) for k, v in versions.items()}


async def primary_position(conn: AsyncConnection) -> int:
    """The primary's current WAL position (bytes from 0/0)."""
    return int((await (await conn.execute(PRIMARY_LSN_SQL)).fetchone())[0])


async def replay_position(conn: AsyncConnection) -> int | None:
    """How far a standby has replayed (bytes from 0/0); None when ``conn`` is not a standby."""
    in_recovery, lsn = await (await conn.execute(REPLAY_SQL, prepare=prepare(conn))).fetchone()
    return int(lsn) if in_recovery and lsn is not None else None
