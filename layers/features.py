"""Feature queries for the OGC API: pages of GeoJSON features built in PostGIS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection, sql

from geo.errors import NotFound

from .catalog import Collection

# Above this many rows an exact COUNT(*) per page costs more than the page itself; the
# planner's estimate is returned instead and the response says so.
EXACT_COUNT_LIMIT = 200_000


@dataclass(frozen=True)
class FeatureQuery:
    limit: int
    bbox: tuple[float, float, float, float] | None = None
    after: str | None = None  # keyset cursor: the last id of the previous page
    equals: dict[str, str] = field(default_factory=dict)  # property -> value


@dataclass(frozen=True)
class FeaturePage:
    features: list[str]  # GeoJSON Feature objects, serialised by PostGIS
    number_matched: int | None
    matched_is_estimate: bool
    next_after: str | None


def _feature_sql(coll: Collection) -> sql.Composable:
    props = sql.SQL(", ").join(
        sql.SQL("{}, t.{}").format(sql.Literal(p.name), sql.Identifier(p.name))
        for p in coll.properties
    )
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', t.{id}, "
        "'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
        "'properties', json_build_object({props}))::text"
    ).format(id=sql.Identifier(coll.id_column), props=props)


def _where(coll: Collection, q: FeatureQuery) -> tuple[sql.Composable, list[Any]]:
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    if q.bbox is not None:
        clauses.append(
            sql.SQL(
                "t.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                "ST_Intersects(t.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
            )
        )
        params += [*q.bbox, *q.bbox]
    for name, value in sorted(q.equals.items()):
        prop = coll.property(name)
        if prop is None:  # callers validate; this keeps identifiers whitelisted regardless
            raise KeyError(name)
        clauses.append(sql.SQL("t.{}::text = %s").format(sql.Identifier(name)))
        params.append(value)
    if not clauses:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params


async def _estimated_rows(conn: AsyncConnection, coll: Collection) -> int:
    cur = await conn.execute(
        "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(%s)",
        (coll.table,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def count_features(
    conn: AsyncConnection, coll: Collection, *, query: FeatureQuery
) -> tuple[int, bool]:
    """Number of features matching, and whether that number is an estimate."""
    estimate = await _estimated_rows(conn, coll)
    if estimate > EXACT_COUNT_LIMIT and not query.equals and query.bbox is None:
        return estimate, True
    where, params = _where(coll, FeatureQuery(limit=0, bbox=query.bbox, equals=query.equals))
    stmt = sql.SQL("SELECT count(*) FROM {} t").format(sql.Identifier(coll.table)) + where
    cur = await conn.execute(stmt, params)
    row = await cur.fetchone()
    return int(row[0]), False


async def feature_page(
    conn: AsyncConnection, coll: Collection, *, query: FeatureQuery
) -> FeaturePage:
    """One page of features in id order; ``next_after`` is set when more follow."""
    where, params = _where(coll, query)
    idcol = sql.Identifier(coll.id_column)
    if query.after is not None:
        keyset = sql.SQL("t.{} > %s").format(idcol)
        where = (where + sql.SQL(" AND ") + keyset) if params else (sql.SQL(" WHERE ") + keyset)
        params.append(int(query.after) if coll.id_column == "id" else query.after)
    stmt = (
        sql.SQL("SELECT t.{}::text, ").format(idcol)
        + _feature_sql(coll)
        + sql.SQL(" FROM {} t").format(sql.Identifier(coll.table))
        + where
        + sql.SQL(" ORDER BY t.{} LIMIT %s").format(idcol)
    )
    cur = await conn.execute(stmt, [*params, query.limit + 1])
    rows = await cur.fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    matched, estimate = await count_features(conn, coll, query=query)
    return FeaturePage(
        features=[r[1] for r in rows],
        number_matched=matched,
        matched_is_estimate=estimate,
        next_after=rows[-1][0] if more and rows else None,
    )


async def feature(conn: AsyncConnection, coll: Collection, *, fid: str) -> str:
    """One feature by id, as GeoJSON text; NotFound when there is none."""
    if coll.id_column == "id" and not fid.isdigit():
        raise _not_found(coll, fid)
    stmt = (
        sql.SQL("SELECT ")
        + _feature_sql(coll)
        + sql.SQL(" FROM {} t WHERE t.{} = %s").format(
            sql.Identifier(coll.table), sql.Identifier(coll.id_column)
        )
    )
    cur = await conn.execute(stmt, (int(fid) if coll.id_column == "id" else fid,))
    row = await cur.fetchone()
    if row is None:
        raise _not_found(coll, fid)
    return row[0]


def _not_found(coll: Collection, fid: str) -> NotFound:
    return NotFound(
        f"Không có đối tượng '{fid}' trong lớp {coll.title_vi}.",
        f"No feature '{fid}' in collection {coll.id}.",
        hint_vi=f"Xem danh sách tại /collections/{coll.id}/items.",
        hint_en=f"List the features at /collections/{coll.id}/items.",
    )


async def extent(
    conn: AsyncConnection, coll: Collection
) -> tuple[float, float, float, float] | None:
    """Bounding box of a collection; the planner's estimate on big tables, exact on small ones."""
    stmt = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {}) s"
    ).format(sql.Identifier(coll.table))
    if await _estimated_rows(conn, coll) > EXACT_COUNT_LIMIT:
        stmt = sql.SQL(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_EstimatedExtent('public', %s, 'geom') e) s"
        )
        cur = await conn.execute(stmt, (coll.table,))
    else:
        cur = await conn.execute(stmt)
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
