"""Dense z13–14 tiles are clustered like the low zooms; sparse ones keep every point."""

from __future__ import annotations

import subprocess
from pathlib import Path

import morecantile
import psycopg
import pytest
from psycopg import sql

from layers.serving import tiles
from layers.serving.catalog import COLLECTIONS

HOUSEHOLDS = next(c for c in COLLECTIONS if c.id == "households")
TMS = morecantile.tms.get("WebMercatorQuad")


def _layer_fields(tmp_path: Path, tile: morecantile.Tile, mvt: bytes) -> str:
    path = tmp_path / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mvt)
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"MVT:{path}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout


def test_a_tile_over_the_point_budget_is_clustered(demo_url, tmp_path) -> None:
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()
        tile = TMS.tile(lon, lat, 14)
        w, s, e, n = tiles.margin_bounds(tile.z, tile.x, tile.y)
        inside = conn.execute(
            "SELECT count(*) FROM household WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            (w, s, e, n),
        ).fetchone()[0]
        assert inside > 2
        params = {"z": tile.z, "x": tile.x, "y": tile.y}
        # The budget is checked against the tile's cell counts (household_cell), which hold
        # about the households inside the tile: far under and far over it decide.
        at_budget = conn.execute(tiles.tile_sql([HOUSEHOLDS], 14, 10 * inside), params).fetchone()
        over = conn.execute(tiles.tile_sql([HOUSEHOLDS], 14, inside // 10), params).fetchone()
        t15 = TMS.tile(lon, lat, 15)
        at_15 = conn.execute(
            tiles.tile_sql([HOUSEHOLDS], 15, 0), {"z": 15, "x": t15.x, "y": t15.y}
        ).fetchone()
    points = _layer_fields(tmp_path / "points", tile, at_budget[0])
    assert at_budget[1] == inside and "code: String" in points and "count: Integer" not in points
    clusters = _layer_fields(tmp_path / "clusters", tile, over[0])
    assert "count: Integer" in clusters and "code: String" not in clusters
    assert 0 < over[1] < inside
    # From z15 on every point is drawn, whatever the budget.
    assert at_15[1] > 0 and "code: String" in _layer_fields(tmp_path / "z15", t15, at_15[0])


def _clusters_of(conn: psycopg.Connection, inner: sql.Composable, z: int, x: int, y: int) -> list:
    head = tiles.tile_sql([HOUSEHOLDS], z).as_string(conn).split(" SELECT ")[0]  # WITH b AS …
    stmt = sql.SQL(head) + sql.SQL(
        " SELECT ST_X(f.geom), ST_Y(f.geom), f.count, f.with_fibre FROM ({}) f ORDER BY 1, 2"
    ).format(inner)
    return conn.execute(stmt, {"z": z, "x": x, "y": y}).fetchall()


@pytest.mark.parametrize("z", [13, 14])
def test_dense_clusters_from_z14_cells_are_the_clusters_of_the_points(demo_url, z) -> None:
    """A dense z13–14 tile clusters from household_cell_z14 (migration 0023): the same
    clusters, counts and positions (to a unit of the 4096 grid) as grouping its points."""
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()
        t = TMS.tile(lon, lat, z)
        from_cells = _clusters_of(conn, tiles._clusters(HOUSEHOLDS, z), z, t.x, t.y)
        from_points = _clusters_of(conn, tiles._cluster_sql(HOUSEHOLDS, z), z, t.x, t.y)
    assert sum(c[2] for c in from_points) > 2
    assert len(from_cells) == len(from_points)
    for (cx, cy, cn, cf), (px, py, pn, pf) in zip(from_cells, from_points, strict=True):
        assert (cn, cf) == (pn, pf) and abs(cx - px) <= 1 and abs(cy - py) <= 1
