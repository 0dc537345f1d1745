"""Vector tiles (MVT) made in PostGIS, with per-zoom rules that keep low-zoom tiles small.

- points (households) below ``CLUSTER_BELOW_ZOOM`` are aggregated on a grid of
  ``CLUSTER_CELLS``² cells per tile: one point per cell with ``count`` and ``with_fibre``;
  up to ``DENSITY_CHECK_BELOW_ZOOM`` a tile with more than ``POINT_BUDGET`` points is
  aggregated the same way, so dense villages do not make 100 kB tiles;
- polygons below ``SIMPLIFY_BELOW_ZOOM`` are simplified to about a quarter pixel; layers of
  many small polygons (growing areas) are aggregated like the points below their
  ``aggregate_below_zoom``: one point per cell with ``count`` and a total (``area_ha``);
- no tile carries more than ``MAX_FEATURES`` features per layer: the rest are cut off and
  the response says so (``X-AgriMap-Truncated``), never silently.
Only a collection's public properties go into its tiles (the catalogue lists them).
"""

from __future__ import annotations

import math

from psycopg import AsyncConnection, sql

from . import changes
from .catalog import Collection

EXTENT = 4096
BUFFER = 64
CLUSTER_BELOW_ZOOM = 13
CLUSTER_CELLS = 64
DENSITY_CHECK_BELOW_ZOOM = 15
POINT_BUDGET = 2_000  # points in one z13–14 tile (from cell counts) before they are clustered
SIMPLIFY_BELOW_ZOOM = 14
# Point tables whose clusters up to CELL_ZOOM come from per-cell counts kept by triggers.
CELL_TABLES = {"household": "household_cell"}
CELL_ZOOM = 12
# The same counts on the z14 grid (migration 0023): dense z13–14 tiles cluster from them.
FINE_CELL_TABLES = {"household": "household_cell_z14"}
FINE_CELL_ZOOM = 14
MAX_FEATURES = 20_000
EARTH_RADIUS_M = 6_378_137.0  # Web Mercator's sphere
WORLD_M = 2 * math.pi * EARTH_RADIUS_M
MIN_ZOOM, MAX_ZOOM = 0, 22


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


def _tile_geom(coll: Collection, z: int) -> sql.Composed:
    """The expression that puts a row's geometry on the tile grid."""
    if coll.geometry_type == "Point":
        # Points need neither clipping nor a projection library: the same arithmetic as the
        # clusters puts them on the grid (the bbox filter already keeps only the buffer).
        return sql.SQL(
            "ST_MakePoint(round(({r} * radians(ST_X(t.geom)) - b.x0) * {scale}), "
            "round((b.y0 - {r} * ln(tan(pi() / 4 + radians(ST_Y(t.geom)) / 2))) "
            "* {scale}))"
        ).format(r=sql.Literal(EARTH_RADIUS_M), scale=sql.Literal(EXTENT * 2**z / WORLD_M))
    geom: sql.Composable = sql.SQL("t.geom")
    if z < SIMPLIFY_BELOW_ZOOM:
        # A quarter of a pixel, in degrees at the equator: invisible, but far fewer vertices.
        tol = 360.0 / (2**z) / EXTENT / 4
        geom = sql.SQL("ST_SimplifyPreserveTopology(t.geom, {})").format(sql.Literal(tol))
    return sql.SQL("ST_AsMVTGeom(ST_Transform({}, 3857), b.env, {}, {}, true)").format(
        geom, sql.Literal(EXTENT), sql.Literal(BUFFER)
    )


def _features_sql(coll: Collection, z: int) -> sql.Composed:
    return sql.SQL(
        "SELECT {geom} AS geom, {cols} FROM {table} t, b WHERE t.geom && b.env4326 "
        "ORDER BY t.{id} LIMIT {cap}"
    ).format(
        geom=_tile_geom(coll, z),
        cols=sql.SQL(", ").join(_columns(coll)),
        table=sql.Identifier(coll.table),
        id=sql.Identifier(coll.id_column),
        cap=sql.Literal(MAX_FEATURES + 1),
    )


def _grid_sql(
    coll: Collection,
    z: int,
    *,
    lon: sql.Composable,
    lat: sql.Composable,
    carried: sql.Composable,
    totals: sql.Composable,
    fields: sql.Composable,
) -> sql.Composed:
    """One point per grid cell (``CLUSTER_CELLS``² per tile, aligned across tiles) at the mean
    position (``lon``, ``lat`` of each row, in degrees) of the layer's rows in the tile and its
    buffer, with their ``count`` and the ``totals`` computed over the ``carried`` columns.
    Web Mercator by formula and tile coordinates by arithmetic: no ST_Transform or
    ST_AsMVTGeom per row (2–3× faster on dense low-zoom tiles)."""
    size = WORLD_M / 2**z
    return sql.SQL(
        "SELECT ST_MakePoint(round((c.mx - b.x0) * {scale}), "
        "                    round((b.y0 - c.my) * {scale})) AS geom, "
        "c.count, {fields} FROM ("
        "  SELECT avg(p.mx) AS mx, avg(p.my) AS my, count(*)::int AS count, {totals} FROM ("
        "    SELECT {r} * radians({lon}) AS mx, "
        "           {r} * ln(tan(pi() / 4 + radians({lat}) / 2)) AS my, {carried} "
        "    FROM {table} t, b WHERE t.geom && b.env4326) p "
        "  GROUP BY floor(p.mx / {cell}), floor(p.my / {cell})) c, b"
    ).format(
        scale=sql.Literal(EXTENT / size),
        r=sql.Literal(EARTH_RADIUS_M),
        table=sql.Identifier(coll.table),
        cell=sql.Literal(size / CLUSTER_CELLS),
        lon=lon,
        lat=lat,
        carried=carried,
        totals=totals,
        fields=fields,
    )


def _cluster_sql(coll: Collection, z: int) -> sql.Composed:
    """Households clustered on the tile grid from their points: ``count``, ``with_fibre``."""
    return _grid_sql(
        coll,
        z,
        lon=sql.SQL("ST_X(t.geom)"),
        lat=sql.SQL("ST_Y(t.geom)"),
        carried=sql.SQL("t.has_fibre"),
        totals=sql.SQL("count(*) FILTER (WHERE p.has_fibre)::int AS with_fibre"),
        fields=sql.SQL("c.with_fibre"),
    )


def aggregated(coll: Collection, z: int) -> bool:
    """Whether the layer's polygons are drawn as grid aggregates at this zoom."""
    return coll.aggregate_below_zoom is not None and z < coll.aggregate_below_zoom


def _aggregate_sql(coll: Collection, z: int) -> sql.Composed:
    """Small polygons on the tile grid, each at its box centre: ``count`` and the sum of the
    layer's total column (hectares for growing areas)."""
    total = sql.Identifier(coll.aggregate_total or "area_ha")
    return _grid_sql(
        coll,
        z,
        lon=sql.SQL("(ST_XMin(t.geom) + ST_XMax(t.geom)) / 2"),
        lat=sql.SQL("(ST_YMin(t.geom) + ST_YMax(t.geom)) / 2"),
        carried=sql.SQL("t.{} AS total").format(total),
        totals=sql.SQL("round(sum(p.total)::numeric, 4)::float8 AS {}").format(total),
        fields=sql.SQL("c.{}").format(total),
    )


def _cells_sql(
    coll: Collection, z: int, *, cells: str | None = None, cell_zoom: int = CELL_ZOOM
) -> sql.Composed:
    """Clusters from the cell counts of ``cell_zoom``'s grid (z12: migration 0007, table
    ``CELL_TABLES``; z14: 0023): a tile up to that zoom is 64 + 2 cells of its zoom across
    (with the buffer), each the union of 2^(cell_zoom − z) × 2^(cell_zoom − z) cells."""
    shift = cell_zoom - z
    k, half = 2**shift, 2 ** (z - 1) * CLUSTER_CELLS if z else CLUSTER_CELLS // 2
    size = WORLD_M / 2**z
    return sql.SQL(
        "SELECT ST_MakePoint(round((c.mx - b.x0) * {scale}), "
        "                    round((b.y0 - c.my) * {scale})) AS geom, "
        "c.count, c.with_fibre FROM ("
        "  SELECT sum(h.sum_mx) / sum(h.n) AS mx, sum(h.sum_my) / sum(h.n) AS my, "
        "         sum(h.n)::int AS count, sum(h.n_fibre)::int AS with_fibre "
        "  FROM {cells} h "
        "  WHERE h.cx BETWEEN (%(x)s * {c} - 1 - {half}) * {k} AND ((%(x)s + 1) * {c} + 1 - {half}) * {k} - 1 "
        "    AND h.cy BETWEEN ({half} - (%(y)s + 1) * {c} - 1) * {k} AND ({half} - %(y)s * {c} + 1) * {k} - 1 "
        "    AND h.n > 0 "
        "  GROUP BY h.cx >> {shift}, h.cy >> {shift}) c, b"
    ).format(
        scale=sql.Literal(EXTENT / size),
        cells=sql.Identifier(cells or CELL_TABLES[coll.table]),
        c=sql.Literal(CLUSTER_CELLS),
        half=sql.Literal(half),
        k=sql.Literal(k),
        shift=sql.Literal(shift),
    )


def _clusters(coll: Collection, z: int) -> sql.Composed:
    if coll.table in CELL_TABLES and z <= CELL_ZOOM:
        return _cells_sql(coll, z)
    if coll.table in FINE_CELL_TABLES and z <= FINE_CELL_ZOOM:
        return _cells_sql(coll, z, cells=FINE_CELL_TABLES[coll.table], cell_zoom=FINE_CELL_ZOOM)
    return _cluster_sql(coll, z)


def _mvt(coll: Collection, inner: sql.Composable, gate: sql.Composable) -> sql.Composed:
    return sql.SQL(
        "(SELECT coalesce(ST_AsMVT(f.*, {layer}, {extent}, 'geom'), ''::bytea), count(*) "
        "FROM ({inner}) f WHERE f.geom IS NOT NULL AND {gate})"
    ).format(layer=sql.Literal(coll.id), extent=sql.Literal(EXTENT), inner=inner, gate=gate)


def density_checked(coll: Collection, z: int) -> bool:
    """Point layers at z13–14 are drawn point by point unless the tile holds more than
    ``POINT_BUDGET`` of them; then they are clustered like the lower zooms."""
    return coll.geometry_type == "Point" and CLUSTER_BELOW_ZOOM <= z < DENSITY_CHECK_BELOW_ZOOM


def _dense_cte(coll: Collection, z: int, name: sql.Identifier, budget: int) -> sql.Composed:
    if coll.table in CELL_TABLES:  # from the z12 cell counts: a few hundred index rows
        c, half = CLUSTER_CELLS >> (z - CELL_ZOOM), 2 ** (CELL_ZOOM - 1) * CLUSTER_CELLS
        count = sql.SQL(
            "SELECT coalesce(sum(h.n), 0) > {budget} AS dense FROM {cells} h "
            "WHERE h.cx BETWEEN %(x)s * {c} - {half} AND (%(x)s + 1) * {c} - 1 - {half} "
            "AND h.cy BETWEEN {half} - (%(y)s + 1) * {c} AND {half} - %(y)s * {c} - 1"
        ).format(
            budget=sql.Literal(budget),
            cells=sql.Identifier(CELL_TABLES[coll.table]),
            c=sql.Literal(c),
            half=sql.Literal(half),
        )
    else:
        count = sql.SQL(
            "SELECT count(*) > {budget} AS dense FROM "
            "(SELECT 1 FROM {table} t, b WHERE t.geom && b.env4326 LIMIT {over}) s"
        ).format(
            budget=sql.Literal(budget),
            table=sql.Identifier(coll.table),
            over=sql.Literal(budget + 1),
        )
    return sql.SQL(", {} AS MATERIALIZED ({}) ").format(name, count)


def layer_sql(coll: Collection, z: int, dense: sql.Identifier | None = None) -> sql.Composed:
    """(mvt bytea, feature count) of one collection in the tile given by %(z)s/%(x)s/%(y)s;
    ``dense`` names the CTE that says whether a density-checked layer is over budget."""
    always = sql.SQL("true")
    if coll.geometry_type == "Point" and z < CLUSTER_BELOW_ZOOM:
        return _mvt(coll, _clusters(coll, z), always)
    if aggregated(coll, z):
        return _mvt(coll, _aggregate_sql(coll, z), always)
    if dense is None:
        return _mvt(coll, _features_sql(coll, z), always)
    is_dense = sql.SQL("(SELECT dense FROM {})").format(dense)
    return sql.SQL(
        "(SELECT c.mvt || p.mvt, c.n + p.n FROM {c} AS c(mvt, n), {p} AS p(mvt, n))"
    ).format(
        c=_mvt(coll, _clusters(coll, z), is_dense),
        p=_mvt(coll, _features_sql(coll, z), sql.SQL("NOT ") + is_dense),
    )


def tile_sql(
    collections: list[Collection], z: int, point_budget: int = POINT_BUDGET
) -> sql.Composed:
    """One row: per collection its MVT bytes and feature count, in the given order."""
    ctes: list[sql.Composable] = [
        sql.SQL(
            # The tile's west and north edges once, not per row (a box3d cast of env each).
            "WITH b AS (SELECT e.env, ST_XMin(e.env) AS x0, ST_YMax(e.env) AS y0, "
            "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {m}), 4326) AS env4326 "
            "FROM (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env) e) "
        ).format(m=sql.Literal(BUFFER / EXTENT))
    ]
    layers = []
    for i, c in enumerate(collections):
        dense = None
        if density_checked(c, z):
            dense = sql.Identifier(f"d{i}")
            ctes.append(_dense_cte(c, z, dense, point_budget))
        layers.append(
            sql.SQL("{q} AS {l}(mvt, n)").format(
                q=layer_sql(c, z, dense), l=sql.Identifier(f"l{i}")
            )
        )
    selects = sql.SQL(", ").join(
        sql.SQL("{l}.mvt, {l}.n").format(l=sql.Identifier(f"l{i}")) for i in range(len(collections))
    )
    return sql.Composed(ctes) + sql.SQL("SELECT {} FROM {}").format(
        selects, sql.SQL(", ").join(layers)
    )


def valid_tile(z: int, x: int, y: int) -> bool:
    return MIN_ZOOM <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def margin_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the area a tile's SQL reads: the tile and its
    buffer of ``BUFFER``/``EXTENT`` of a tile on every side (as ``ST_TileEnvelope(margin)``)."""
    size = WORLD_M / 2**z
    pad = size * BUFFER / EXTENT
    half = WORLD_M / 2
    radius = EARTH_RADIUS_M

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


async def read_tile(
    conn: AsyncConnection, statement: str, *, z: int, x: int, y: int
) -> list[tuple[bytes, int]]:
    """Run a tile statement of ``tile_sql``: (MVT bytes, features before the cap) per layer."""
    cur = await conn.execute(statement, {"z": z, "x": x, "y": y}, prepare=changes.prepare(conn))
    row = await cur.fetchone()
    return [(row[i], row[i + 1]) for i in range(0, len(row), 2)]
