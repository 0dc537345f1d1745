"""Dense z13–14 tiles are clustered like the low zooms; sparse ones keep every point."""

from __future__ import annotations

import subprocess
from pathlib import Path

import morecantile
import psycopg

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
