"""Vector tiles (MVT) made in PostGIS, with per-zoom rules that keep low-zoom tiles small.

- points (households) below ``CLUSTER_BELOW_ZOOM`` are aggregated on a grid of
  ``CLUSTER_CELLS``² cells per tile: one point per cell with ``count`` and ``with_fibre``;
- polygons below ``SIMPLIFY_BELOW_ZOOM`` are simplified to about a quarter pixel;
- no tile carries more than ``MAX_FEATURES`` features per layer: the rest are cut off and
  the response says so (``X-AgriMap-Truncated``), never silently.
Only a collection's public properties go into its tiles (the catalogue lists them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from psycopg import sql

from .catalog import Collection

EXTENT = 4096
BUFFER = 64
CLUSTER_BELOW_ZOOM = 13
CLUSTER_CELLS = 64
SIMPLIFY_BELOW_ZOOM = 14
MAX_FEATURES = 20_000
WORLD_M = 40_075_016.685578488
MIN_ZOOM, MAX_ZOOM = 0, 22


@dataclass(frozen=True)
class TileSpec:
    """One layer of a tile: which SQL makes it."""

    layer: str
    query: sql.Composed


def _columns(coll: Collection) -> list[sql.Composable]:
    out: list[sql.Composable] = [sql.SQL("t.{}").format(sql.Identifier(coll.id_column))]
    for p in coll.properties:
        col = sql.SQL("t.{}").format(sql.Identifier(p.name))
        if p.type == "number":
            col = sql.SQL("{}::float8").format(col)
        elif p.type == "string":
            col = sql.SQL("{}::text").format(col)
        out.append(sql.SQL("{} AS {}").format(col, sql.Identifier(p.name)))
    return out


def _features_sql(coll: Collection, z: int) -> sql.Composed:
    geom = sql.SQL("t.geom")
    if coll.geometry_type != "Point" and z < SIMPLIFY_BELOW_ZOOM:
        # A quarter of a pixel, in degrees at the equator: invisible, but far fewer vertices.
        tol = 360.0 / (2**z) / EXTENT / 4
        geom = sql.SQL("ST_SimplifyPreserveTopology(t.geom, {})").format(sql.Literal(tol))
    return sql.SQL(
        "SELECT ST_AsMVTGeom(ST_Transform({geom}, 3857), b.env, {extent}, {buffer}, true) AS geom, "
        "{cols} FROM {table} t, b WHERE t.geom && b.env4326 ORDER BY t.{id} LIMIT {cap}"
    ).format(
        geom=geom,
        extent=sql.Literal(EXTENT),
        buffer=sql.Literal(BUFFER),
        cols=sql.SQL(", ").join(_columns(coll)),
        table=sql.Identifier(coll.table),
        id=sql.Identifier(coll.id_column),
        cap=sql.Literal(MAX_FEATURES + 1),
    )


def _cluster_sql(coll: Collection, z: int) -> sql.Composed:
    cell = WORLD_M / (2**z) / CLUSTER_CELLS
    return sql.SQL(
        "SELECT ST_AsMVTGeom(ST_Centroid(ST_Collect(g)), b.env, {extent}, {buffer}, true) AS geom, "
        "count(*)::int AS count, count(*) FILTER (WHERE has_fibre)::int AS with_fibre "
        "FROM (SELECT ST_Transform(t.geom, 3857) AS g, t.has_fibre FROM {table} t, b "
        "      WHERE t.geom && b.env4326) p, b "
        "GROUP BY ST_SnapToGrid(p.g, {cell}), b.env"
    ).format(
        extent=sql.Literal(EXTENT),
        buffer=sql.Literal(BUFFER),
        table=sql.Identifier(coll.table),
        cell=sql.Literal(cell),
    )


def layer_sql(coll: Collection, z: int) -> sql.Composed:
    """(mvt bytea, feature count) of one collection in the tile given by %(z)s/%(x)s/%(y)s."""
    clustered = coll.geometry_type == "Point" and z < CLUSTER_BELOW_ZOOM
    inner = _cluster_sql(coll, z) if clustered else _features_sql(coll, z)
    return sql.SQL(
        "(SELECT coalesce(ST_AsMVT(f.*, {layer}, {extent}, 'geom'), ''::bytea), count(*) "
        "FROM ({inner}) f WHERE f.geom IS NOT NULL)"
    ).format(layer=sql.Literal(coll.id), extent=sql.Literal(EXTENT), inner=inner)


def tile_sql(collections: list[Collection], z: int) -> sql.Composed:
    """One row: per collection its MVT bytes and feature count, in the given order."""
    envelope = sql.SQL(
        "WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env, "
        "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {m}), 4326) AS env4326) "
    ).format(m=sql.Literal(BUFFER / EXTENT))
    selects = sql.SQL(", ").join(
        sql.SQL("{l}.mvt, {l}.n").format(l=sql.Identifier(f"l{i}")) for i in range(len(collections))
    )
    froms = sql.SQL(", ").join(
        sql.SQL("{q} AS {l}(mvt, n)").format(q=layer_sql(c, z), l=sql.Identifier(f"l{i}"))
        for i, c in enumerate(collections)
    )
    return envelope + sql.SQL("SELECT {} FROM {}").format(selects, froms)


def valid_tile(z: int, x: int, y: int) -> bool:
    return MIN_ZOOM <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def margin_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the area a tile's SQL reads: the tile and its
    buffer of ``BUFFER``/``EXTENT`` of a tile on every side (as ``ST_TileEnvelope(margin)``)."""
    size = WORLD_M / 2**z
    pad = size * BUFFER / EXTENT
    half = WORLD_M / 2
    radius = WORLD_M / (2 * math.pi)

    def lon(mx: float) -> float:
        return math.degrees(mx / radius)

    def lat(my: float) -> float:
        return math.degrees(2 * math.atan(math.exp(my / radius)) - math.pi / 2)

    return (
        lon(-half + x * size - pad),
        lat(half - (y + 1) * size - pad),
        lon(-half + (x + 1) * size + pad),
        lat(half - y * size + pad),
    )


def touches(z: int, x: int, y: int, box: tuple[float, float, float, float]) -> bool:
    """Whether a change inside ``box`` (west, south, east, north; degrees) can alter the tile."""
    w, s, e, n = margin_bounds(z, x, y)
    return box[0] <= e and box[2] >= w and box[1] <= n and box[3] >= s
