"""Feature queries for the OGC API: pages of GeoJSON features built in PostGIS."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from psycopg import AsyncConnection, sql

from geo.errors import NotFound
from geo.values import id_number

from .. import partitions
from . import changes
from .catalog import Collection

# Above this many rows the collection's extent is the planner's estimate, not ST_Extent.
EXACT_COUNT_LIMIT = 200_000

# numberMatched is exact up to this many matches, counted in the page's own statement with a
# capped subquery; above it the response gives the planner's estimate and says so
# ("numberMatchedIsEstimate": true). Counting every match of a big result cost more than the page.

# How long a table's row estimate (pg_class.reltuples) and a filter's planned row count are
# reused in this process before the database is asked again.
ESTIMATE_TTL = 60.0
_ESTIMATE_CACHE_SIZE = 512

# (table, bbox, equals) -> (monotonic time, rows); bbox and equals are None/() for the whole table
_estimates: dict[tuple, tuple[float, int]] = {}


@dataclass(frozen=True)
class FeatureQuery:
    limit: int
    bbox: tuple[float, float, float, float] | None = None
    after: str | None = None  # keyset cursor: the last id of the previous page
    equals: dict[str, str] = field(default_factory=dict)  # property -> value
    # Of a table partitioned by province: the partitions a bbox can meet (None: every one; ''
    # the partition of rows without a province), set by ``narrowed`` from partition_extent.
    provinces: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FeaturePage:
    features_json: str  # the page's GeoJSON Feature objects, comma-separated, joined by PostGIS
    number_returned: int
    number_matched: int | None
    matched_is_estimate: bool
    next_after: str | None


def feature_json_sql(coll: Collection) -> sql.Composable:
    props = sql.SQL(", ").join(
        sql.SQL("{}, t.{}").format(sql.Literal(p.name), sql.Identifier(p.name))
        for p in coll.properties
    )
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', t.{id}, "
        "'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
        "'properties', json_build_object({props}))::text"
    ).format(id=sql.Identifier(coll.id_column), props=props)


# Rows whose bounding box lies inside the bbox shrunk by this much (degrees) certainly intersect
# it: PostGIS keeps boxes in single precision rounded outwards (under 1.6e-5 degrees at 180),
# so only rows near the edge need the exact ST_Intersects test.
_BOX_MARGIN = 1e-4


def _bbox_clause(
    bbox: tuple[float, float, float, float], *, exact_only: bool = False
) -> tuple[sql.Composable, list[Any]]:
    """``ST_Intersects(geom, bbox)``, written so that the exact test runs only near the edge.

    ``exact_only`` gives the plain form, whose row estimate the planner gets right (the box
    shortcut makes it count the bbox selectivity twice). CASE, not OR: with OR the planner
    scanned the index twice (a BitmapOr), measured ~10 % slower."""
    west, south, east, north = bbox
    envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    margin = _BOX_MARGIN
    if exact_only or east - west <= 2 * margin or north - south <= 2 * margin:
        return sql.SQL(f"ST_Intersects(t.geom, {envelope})"), [*bbox]
    inner = [west + margin, south + margin, east - margin, north - margin]
    return (
        sql.SQL(
            f"t.geom && {envelope} AND CASE WHEN t.geom @ {envelope} THEN true "
            f"ELSE ST_Intersects(t.geom, {envelope}) END"
        ),
        [*bbox, *inner, *bbox],
    )


def _provinces_clause(provinces: tuple[str, ...]) -> tuple[sql.Composable, list[Any]]:
    """The partition key among ``provinces`` ('' standing for no province): a constant list the
    planner prunes the other partitions with (the statement is planned for its values)."""
    named = [p for p in provinces if p]
    key = sql.Identifier(PARTITION_KEY)
    if "" in provinces:
        return sql.SQL("(t.{k} = ANY(%s) OR t.{k} IS NULL)").format(k=key), [named]
    return sql.SQL("t.{} = ANY(%s)").format(key), [named]


# The province partitions whose rows' extent meets a box (partition_extent, migration 0021).
PARTITIONS_MEETING = (
    "SELECT coalesce(array_agg(province ORDER BY province), '{}') FROM partition_extent "
    "WHERE parent = %s AND west <= %s AND south <= %s AND east >= %s AND north >= %s"
)


async def narrowed(conn: AsyncConnection, coll: Collection, query: FeatureQuery) -> FeatureQuery:
    """``query`` with the partitions its bbox can meet, for a table partitioned by province:
    the page's statement then names them and the planner drops the others at plan time (a bbox
    page in a 35-partition country was planned over all of them, 18–26 ms for 0.2 ms of work).
    Unchanged for other tables and for queries without a bbox."""
    if (
        query.bbox is None
        or query.provinces is not None
        or coll.table not in partitions.PARTITIONED
    ):
        return query
    west, south, east, north = query.bbox
    cur = await conn.execute(
        PARTITIONS_MEETING, (coll.table, east, north, west, south), prepare=changes.prepare(conn)
    )
    row = await cur.fetchone()
    return replace(query, provinces=tuple(row[0]) if row else ())


def where_clause(
    coll: Collection, q: FeatureQuery, *, exact_only: bool = False
) -> tuple[sql.Composable, list[Any]]:
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    if q.bbox is not None:
        clause, clause_params = _bbox_clause(q.bbox, exact_only=exact_only)
        clauses.append(clause)
        params += clause_params
    if q.provinces is not None:
        clause, clause_params = _provinces_clause(q.provinces)
        clauses.append(clause)
        params += clause_params
    for name, value in sorted(q.equals.items()):
        prop = coll.property(name)
        if prop is None:  # callers validate; this keeps identifiers whitelisted regardless
            raise KeyError(name)
        clauses.append(sql.SQL("t.{}::text = %s").format(sql.Identifier(name)))
        params.append(value)
    if not clauses:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params


def _estimate_key(coll: Collection, q: FeatureQuery) -> tuple:
    return (coll.table, q.bbox, tuple(sorted(q.equals.items())))


def _cached_estimate(key: tuple) -> int | None:
    hit = _estimates.get(key)
    if hit is None or time.monotonic() - hit[0] > ESTIMATE_TTL:
        return None
    return hit[1]


def _remember_estimate(key: tuple, rows: int) -> None:
    if len(_estimates) >= _ESTIMATE_CACHE_SIZE:
        now = time.monotonic()
        for k in [k for k, (at, _) in _estimates.items() if now - at > ESTIMATE_TTL]:
            del _estimates[k]
        while len(_estimates) >= _ESTIMATE_CACHE_SIZE:  # still full: drop the oldest entries
            del _estimates[next(iter(_estimates))]
    _estimates[key] = (time.monotonic(), rows)


def _whole_table_key(coll: Collection) -> tuple:
    return (coll.table, None, ())


PARTITION_KEY = "province_code"  # of the tables in layers.partitions.PARTITIONED

# A partitioned table's estimate is its partitions' (the parent holds no rows).
ESTIMATED_ROWS = (
    "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint "
    "FROM pg_partition_tree(to_regclass(%s)) t "
    "JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf"
)


async def _estimated_rows(conn: AsyncConnection, coll: Collection) -> int:
    """The planner's row count for the whole table (pg_class.reltuples), cached for a minute."""
    key = _whole_table_key(coll)
    cached = _cached_estimate(key)
    if cached is not None:
        return cached
    cur = await conn.execute(
        ESTIMATED_ROWS,
        (coll.table,),
        prepare=changes.prepare(conn),
    )
    row = await cur.fetchone()
    rows = int(row[0]) if row else 0
    _remember_estimate(key, rows)
    return rows


async def _planned_rows(conn: AsyncConnection, coll: Collection, query: FeatureQuery) -> int:
    """The planner's row count for a filtered query (EXPLAIN, nothing runs), cached for a minute."""
    key = _estimate_key(coll, query)
    cached = _cached_estimate(key)
    if cached is not None:
        return cached
    where, params = where_clause(coll, query, exact_only=True)
    stmt = (
        sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t").format(sql.Identifier(coll.table))
        + where
    )
    cur = await conn.execute(stmt, params, prepare=False)
    row = await cur.fetchone()
    plan = row[0] if row else None
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    _remember_estimate(key, rows)
    return rows


def keyset_where(
    coll: Collection, query: FeatureQuery, where: sql.Composable, params: list[Any]
) -> tuple[sql.Composable, list[Any], list[Any]]:
    """The filter with the keyset cursor added (ids after ``query.after``): (where, all its
    parameters, the cursor's own parameter list, empty without a cursor)."""
    if query.after is None:
        return where, list(params), []
    after = [int(query.after) if coll.id_column == "id" else query.after]
    keyset = sql.SQL("t.{} > %s").format(sql.Identifier(coll.id_column))
    where = (where + sql.SQL(" AND ") + keyset) if params else (sql.SQL(" WHERE ") + keyset)
    return where, [*params, *after], after


def public_columns(coll: Collection) -> sql.Composable:
    """The columns a page reads: id, public properties, geometry. Personal columns never enter
    a page statement's output."""
    columns = list(dict.fromkeys([coll.id_column, *(p.name for p in coll.properties), "geom"]))
    return sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in columns)


def _tail(names: dict[str, sql.Composable]) -> sql.Composable:
    """The end of a page statement: the page's features joined, how many, the last id."""
    return sql.SQL(
        "t AS (SELECT * FROM page ORDER BY {id} LIMIT %s) "
        "SELECT (SELECT string_agg({feature}, ',' ORDER BY t.{id}) FROM t), "
        "(SELECT count(*) FROM page), "
        "(SELECT t.{id}::text FROM t ORDER BY t.{id} DESC LIMIT 1)"
    ).format(**names)


def _page_sql(
    coll: Collection, query: FeatureQuery, *, count: bool, reltuples: bool, cap: int
) -> tuple[sql.Composable, list[Any]]:
    """One statement for a whole page: the features joined into one text by PostGIS, how many,
    the last id, whether more follow, and (``count``) the matches counted up to ``cap`` + 1,
    and (``reltuples``) the table's row estimate."""
    filter_where, filter_params = where_clause(coll, query)
    where, params, after = keyset_where(coll, query, filter_where, filter_params)
    names = dict(
        cols=public_columns(coll),
        table=sql.Identifier(coll.table),
        where=where,
        id=sql.Identifier(coll.id_column),
        feature=feature_json_sql(coll),
    )
    if count and filter_params:
        part = sql.Identifier(PARTITION_KEY) if coll.table in partitions.PARTITIONED else None
        stmt, params = _counted_filtered_page(
            query, names, filter_where, filter_params, after, cap, partition_key=part
        )
        parts: list[sql.Composable] = [stmt]
    else:
        parts = [
            sql.SQL(
                "WITH page AS (SELECT {cols} FROM {table} t{where} ORDER BY t.{id} LIMIT %s), "
            ).format(**names)
            + _tail(names)
        ]
        params += [query.limit + 1, query.limit]
        if count:
            parts.append(
                sql.SQL(", (SELECT count(*) FROM (SELECT 1 FROM {} t{} LIMIT %s) n)").format(
                    names["table"], filter_where
                )
            )
            params += [*filter_params, cap + 1]
        else:
            parts.append(sql.SQL(", NULL::bigint"))
    if reltuples:
        parts.append(
            sql.SQL(
                ", (SELECT sum(greatest(c.reltuples, 0))::bigint FROM pg_partition_tree({}) t "
                "JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)"
            ).format(sql.Literal(coll.table))
        )
    else:
        parts.append(sql.SQL(", NULL::bigint"))
    return sql.Composed(parts), params


def _counted_filtered_page(
    query: FeatureQuery,
    names: dict[str, sql.Composable],
    filter_where: sql.Composable,
    filter_params: list[Any],
    after: list[Any],
    cap: int,
    partition_key: sql.Identifier | None = None,
) -> tuple[sql.Composable, list[Any]]:
    """A filtered page and its count from one scan of the matches.

    The ids of up to ``cap`` + 1 matches are read once (``m``); when that is all of them the
    page is the lowest ids among them, otherwise (more than the cap) the page is looked up on
    its own. The other branch is switched off by a one-time filter, so only one of them runs."""
    keyset = sql.SQL(" AND m.{} > %s").format(names["id"]) if after else sql.SQL("")
    # A table partitioned by province (households, growing areas) carries the province along,
    # so that fetching the page's rows probes one partition per row, not every partition.
    part = partition_key
    key = sql.SQL(", t.{}").format(part) if part else sql.SQL("")
    mkey = sql.SQL(", m.{}").format(part) if part else sql.SQL("")
    # The probes name the partitions the bbox can meet too, or each is planned over all of them.
    pruned, pruned_params = sql.SQL(""), []
    without_province = sql.SQL(
        "UNION ALL SELECT x.* FROM ids CROSS JOIN LATERAL (SELECT {cols} FROM {table} t "
        "WHERE t.{id} = ids.{id} AND t.{p} IS NULL LIMIT 1) x WHERE ids.{p} IS NULL"
    )
    if part and query.provinces is not None:
        clause, pruned_params = _provinces_clause(tuple(p for p in query.provinces if p))
        pruned = sql.SQL(" AND ") + clause
        if "" not in query.provinces:
            without_province = sql.SQL("")
    page = (
        sql.SQL(
            # One probe per page row (LIMIT 1 keeps each LATERAL a parameterised scan that
            # prunes to the row's partition): as a plain join the planner hashed an Append of
            # every partition's seq scan (68,000 rows read for 5 in a 35-partition country).
            "page AS (SELECT x.* FROM ids CROSS JOIN LATERAL (SELECT {cols} FROM {table} t "
            "WHERE t.{id} = ids.{id} AND t.{p} = ids.{p}{pruned} LIMIT 1) x {rest}), "
        ).format(p=part, pruned=pruned, rest=without_province.format(p=part, **names), **names)
        if part
        else sql.SQL(
            "page AS (SELECT {cols} FROM {table} t JOIN ids ON t.{id} = ids.{id}), "
        ).format(**names)
    )
    stmt = (
        sql.SQL(
            "WITH m AS MATERIALIZED (SELECT t.{id}{key} FROM {table} t{filter_where} LIMIT %s), "
            "c AS (SELECT count(*) AS n FROM m), "
            "ids AS ((SELECT m.{id}{mkey} FROM m WHERE (SELECT n FROM c) <= %s{keyset} "
            "ORDER BY m.{id} LIMIT %s) UNION ALL "
            "(SELECT t.{id}{key} FROM {table} t{where} AND (SELECT n FROM c) > %s "
            "ORDER BY t.{id} LIMIT %s)), "
        ).format(filter_where=filter_where, keyset=keyset, key=key, mkey=mkey, **names)
        + page
    )
    stmt = stmt + _tail(names) + sql.SQL(", (SELECT n FROM c)")
    page = query.limit + 1
    params = [*filter_params, cap + 1, cap, *after, page]
    params += [*filter_params, *after, cap, page, *pruned_params, query.limit]
    return stmt, params


async def feature_page(
    conn: AsyncConnection, coll: Collection, *, query: FeatureQuery, count_cap: int
) -> FeaturePage:
    """One page of features in id order; ``next_after`` is set when more follow.

    One statement in the common case: the page, already one GeoJSON text, and numberMatched
    counted exactly up to ``count_cap`` (the server's AGRIMAP_COUNT_CAP). Above the cap numberMatched
    is the planner's estimate (pg_class.reltuples for a whole table, EXPLAIN's row count for a
    filtered one, both cached for ESTIMATE_TTL seconds) and ``matched_is_estimate`` is set.
    """
    query = await narrowed(conn, coll, query)
    filtered = query.bbox is not None or bool(query.equals)
    table_rows = None if filtered else _cached_estimate(_whole_table_key(coll))
    # A whole table known to be big is not counted at all: its estimate is the answer.
    count = filtered or table_rows is None or table_rows <= count_cap
    want_reltuples = not filtered and table_rows is None
    stmt, params = _page_sql(coll, query, count=count, reltuples=want_reltuples, cap=count_cap)
    # A whole-table page is prepared (its plan does not depend on the values). A filtered one
    # is planned for its own values every time: after five runs PostgreSQL may switch a prepared
    # statement to a generic plan, and the generic plan of a bbox page measured 5x slower.
    cur = await conn.execute(stmt, params, prepare=not filtered)
    text, fetched, last, capped, reltuples = await cur.fetchone()  # type: ignore[misc]
    if reltuples is not None:
        table_rows = int(reltuples)
        _remember_estimate(_whole_table_key(coll), table_rows)
    returned = min(int(fetched), query.limit)
    more = fetched > query.limit
    matched, estimate = await number_matched(
        conn,
        coll,
        query,
        returned=returned,
        more=more,
        capped=capped,
        table_rows=table_rows,
        cap=count_cap,
    )
    return FeaturePage(
        features_json=text or "",
        number_returned=returned,
        number_matched=matched,
        matched_is_estimate=estimate,
        next_after=last if more and returned else None,
    )


async def number_matched(
    conn: AsyncConnection,
    coll: Collection,
    query: FeatureQuery,
    *,
    returned: int,
    more: bool,
    capped: int | None,
    table_rows: int | None,
    cap: int,
) -> tuple[int, bool]:
    """numberMatched of a page and whether it is an estimate.

    ``capped`` is the count of matches up to ``cap`` + 1 (None when not counted: a whole table
    known to be bigger than the cap, whose row estimate is ``table_rows``)."""
    if query.after is None and not more:
        return returned, False  # the first page holds every match: exact whatever the statistics
    if capped is not None and capped <= cap:
        return int(capped), False
    # More than ``cap`` match (counted now, or the table was known to be that big).
    if query.bbox is not None or query.equals:
        planned = await _planned_rows(conn, coll, query)
    else:
        planned = table_rows or 0
    # Never below what is already known: past the cap, and past what this page has seen.
    return max(planned, cap + 1 if capped is not None else 0, returned), True


async def count_matched(
    conn: AsyncConnection,
    coll: Collection,
    query: FeatureQuery,
    *,
    returned: int,
    more: bool,
    count_cap: int,
) -> tuple[int, bool]:
    """numberMatched for a page read without its count (a streamed page): counted up to the
    cap in its own statement when needed, as ``feature_page`` does in the page's."""
    if query.after is None and not more:
        return returned, False
    query = await narrowed(conn, coll, query)
    filtered = query.bbox is not None or bool(query.equals)
    table_rows = None if filtered else await _estimated_rows(conn, coll)
    capped = None
    if filtered or (table_rows or 0) <= count_cap:
        where, params = where_clause(coll, query)
        stmt = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} t{} LIMIT %s) n").format(
            sql.Identifier(coll.table), where
        )
        row = await (await conn.execute(stmt, [*params, count_cap + 1], prepare=False)).fetchone()
        capped = int(row[0]) if row else 0
    return await number_matched(
        conn,
        coll,
        query,
        returned=returned,
        more=more,
        capped=capped,
        table_rows=table_rows,
        cap=count_cap,
    )


async def feature(conn: AsyncConnection, coll: Collection, *, fid: str) -> str:
    """One feature by id, as GeoJSON text; NotFound when there is none."""
    if coll.id_column == "id" and id_number(fid) is None:
        raise _not_found(coll, fid)
    stmt = (
        sql.SQL("SELECT ")
        + feature_json_sql(coll)
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
