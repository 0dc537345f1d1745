"""Big feature pages streamed: PostGIS writes each feature's GeoJSON, the server passes them on
in chunks as the rows arrive, so a page of 10,000 features is never held whole in memory and
its first bytes leave before its last row is read. numberMatched and the next link follow the
features (JSON members may come in any order)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from .catalog import Collection
from .features import (
    FeatureQuery,
    feature_json_sql,
    keyset_where,
    narrowed,
    public_columns,
    where_clause,
)

# Features joined into one chunk before it is sent (~250 bytes each for households).
CHUNK = 500


@dataclass
class StreamedPage:
    """What a streamed page learns as it goes; complete once ``stream_features`` is exhausted."""

    number_returned: int = 0
    next_after: str | None = None


def rows_sql(coll: Collection, query: FeatureQuery) -> tuple[sql.Composable, list[Any]]:
    """The page's features one per row, (GeoJSON text, id), in id order, one row past the page."""
    filter_where, filter_params = where_clause(coll, query)
    where, params, _ = keyset_where(coll, query, filter_where, filter_params)
    idcol = sql.Identifier(coll.id_column)
    stmt = sql.SQL(
        "SELECT {feature}, t.{id}::text FROM (SELECT {cols} FROM {table} t{where} "
        "ORDER BY t.{id} LIMIT %s) t ORDER BY t.{id}"
    ).format(
        feature=feature_json_sql(coll),
        id=idcol,
        cols=public_columns(coll),
        table=sql.Identifier(coll.table),
        where=where,
    )
    return stmt, [*params, query.limit + 1]


async def stream_features(
    conn: AsyncConnection, coll: Collection, *, query: FeatureQuery, page: StreamedPage
) -> AsyncIterator[str]:
    """The page's features as comma-joined chunks of GeoJSON text, filling in ``page``.

    Every row is read, the one past the page included (it only says that more follow), so the
    connection is free for the next statement when the iteration ends."""
    stmt, params = rows_sql(coll, await narrowed(conn, coll, query))
    batch: list[str] = []
    sent = False
    last: str | None = None
    async for text, fid in conn.cursor().stream(stmt, params):
        if page.number_returned == query.limit:
            page.next_after = last  # the row past the page: more follow
            continue
        page.number_returned += 1
        last = fid
        batch.append(text)
        if len(batch) >= CHUNK:
            yield ("," if sent else "") + ",".join(batch)
            sent, batch = True, []
    if batch:
        yield ("," if sent else "") + ",".join(batch)
