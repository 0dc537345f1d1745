"""Vector tiles: content, GDAL, low-zoom size, 304, gzip, and freshness across processes."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import httpx
import morecantile
import psycopg

from layers.serving.tiles import MAX_FEATURES, margin_bounds
from tests.conftest import serve

TMS = morecantile.tms.get("WebMercatorQuad")


def _home(demo_url: str) -> tuple[int, float, float]:
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()


def _count_in(demo_url: str, tile: morecantile.Tile) -> int:
    b = TMS.bounds(tile)
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM household WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            (b.left, b.bottom, b.right, b.top),
        ).fetchone()[0]


def _ogrinfo(tmp_path: Path, tile: morecantile.Tile, content: bytes) -> str:
    path = tmp_path / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", f"MVT:{path}"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_tile_matrix_sets_and_tilejson(live_server: str) -> None:
    sets = httpx.get(f"{live_server}/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = httpx.get(f"{live_server}/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) >= 23
    tj = httpx.get(f"{live_server}/collections/households/tiles/WebMercatorQuad").json()
    assert tj["tiles"][0].endswith("/collections/households/tiles/WebMercatorQuad/{z}/{x}/{y}")
    fields = tj["vector_layers"][0]["fields"]
    assert "label" in fields and "head_name" not in fields and "phone" not in fields
    assert httpx.get(f"{live_server}/collections/households/tiles/Nope").status_code == 404


def test_gdal_reads_a_household_tile_with_every_feature(live_server, demo_url, tmp_path) -> None:
    _, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 15)
    r = httpx.get(
        f"{live_server}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    )
    assert (
        r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    info = _ogrinfo(tmp_path, tile, r.content)
    count = int(info.split("Feature Count: ")[1].split()[0])
    assert count >= _count_in(demo_url, tile) > 0  # the tile buffer may add neighbours
    assert "label: String" in info and "head_name" not in info and "phone" not in info


def test_low_zoom_tiles_are_aggregated_and_small(live_server, demo_url, tmp_path) -> None:
    _, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 9)
    r = httpx.get(
        f"{live_server}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    )
    assert r.status_code == 200 and len(r.content) < 50_000
    info = _ogrinfo(tmp_path, tile, r.content)
    assert "count: Integer" in info and "with_fibre: Integer" in info
    clusters = int(info.split("Feature Count: ")[1].split()[0])
    assert 0 < clusters < _count_in(demo_url, tile)
    assert "X-AgriMap-Truncated" not in r.headers and MAX_FEATURES >= 10_000


def test_clusters_count_every_household_once_where_they_are(live_server, demo_url, tmp_path):
    _, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 11)
    url = f"{live_server}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    path = tmp_path / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(httpx.get(url).content)
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-oo", "CLIP=NO",
                          "/vsistdout/",
                          f"MVT:{path}"], capture_output=True, text=True, check=True)  # fmt: skip
    clusters = json.loads(out.stdout)["features"]
    w, s, e, n = margin_bounds(tile.z, tile.x, tile.y)
    with psycopg.connect(demo_url) as conn:
        inside, fibre = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE has_fibre) FROM household "
            "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", (w, s, e, n)
        ).fetchone()  # fmt: skip
    assert sum(c["properties"]["count"] for c in clusters) == inside > len(clusters) > 0
    assert sum(c["properties"]["with_fibre"] for c in clusters) == fibre
    for c in clusters:  # each drawn at its households' mean position, so inside the area read
        x, y = c["geometry"]["coordinates"]
        assert w - 1e-3 <= x <= e + 1e-3 and s - 1e-3 <= y <= n + 1e-3


def test_all_layers_in_one_tile(live_server, demo_url, tmp_path) -> None:
    _, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 14)
    r = httpx.get(f"{live_server}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}")
    info = _ogrinfo(tmp_path, tile, r.content)
    for layer in ("households", "villages", "communes"):
        assert f"Layer name: {layer}" in info


def test_conditional_requests_and_gzip(live_server, demo_url) -> None:
    _, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 14)
    url = f"{live_server}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert httpx.get(url, headers={"If-None-Match": plain.headers["etag"]}).status_code == 304
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
        compressed = b"".join(zipped.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(compressed) == plain.content and len(compressed) < len(plain.content)
    outside = f"{live_server}/collections/households/tiles/WebMercatorQuad/3/9/0"
    assert httpx.get(outside).status_code == 404


def test_a_write_is_seen_by_the_next_request_of_every_process(demo_url) -> None:
    hid, lon, lat = _home(demo_url)
    tile = TMS.tile(lon, lat, 16)
    with serve(demo_url, workers=2) as base:
        url = f"{base}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
        # A new connection per request, so the requests spread over both worker processes
        # and both fill their caches.
        before = {httpx.get(url).headers["etag"] for _ in range(12)}
        assert len(before) == 1
        body_before = httpx.get(url).content
        with psycopg.connect(demo_url) as conn:
            conn.execute("SELECT set_config('agrimap.system', 'on', true)")
            conn.execute("UPDATE household SET label = label || ' (mới)' WHERE id = %s", (hid,))
        after = [httpx.get(url) for _ in range(12)]
    assert all(r.headers["etag"] not in before for r in after)
    assert all(r.content != body_before and "(mới)".encode() in r.content for r in after)


def test_soil_raster_png_tiles_are_coloured_by_grade(live_server, demo_url) -> None:
    import io

    from PIL import Image

    from layers.soil import load_config

    with psycopg.connect(demo_url) as conn:
        rid, lon, lat = conn.execute(
            "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM soil_raster "
            "WHERE property = 'om' ORDER BY id LIMIT 1"
        ).fetchone()
    tile = TMS.tile(lon, lat, 14)
    base = f"{live_server}/collections/soil_rasters/items/{rid}"
    r = httpx.get(f"{base}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGBA")
    colours = {c[:3] for _, c in img.getcolors(maxcolors=65536) if c[3] == 255}
    table = load_config().table("om", "%")
    ramp = {tuple(int(c.colour[i : i + 2], 16) for i in (1, 3, 5)) for c in table.classes}
    assert colours and colours <= ramp  # every painted pixel has its class table's colour
    assert httpx.get(f"{base}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png",
                     headers={"If-None-Match": r.headers["etag"]}).status_code == 304  # fmt: skip
    far = TMS.tile(lon + 2, lat, 14)
    assert httpx.get(f"{base}/tiles/WebMercatorQuad/{far.z}/{far.x}/{far.y}.png").status_code == 204
    legend = httpx.get(f"{base}/legend").json()
    assert legend["property"] == "om" and [c["grade"] for c in legend["classes"]][0] == "rất nghèo"


def _mvt_features(tmp_path: Path, tile: morecantile.Tile, content: bytes) -> list[dict]:
    path = tmp_path / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-oo", "CLIP=NO",
                          "/vsistdout/", f"MVT:{path}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)["features"]


def test_growing_areas_are_aggregated_at_low_zoom(live_server, demo_url, tmp_path) -> None:
    """Below z12 a growing area is under a screen pixel: the tile gives one point per grid cell
    with how many areas and hectares it stands for, and counts every area touching it once."""
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM growing_area "
            "ORDER BY id LIMIT 1) s"
        ).fetchone()
    layer = f"{live_server}/collections/growing_areas/tiles/WebMercatorQuad"
    for z in (10, 11):
        tile = TMS.tile(lon, lat, z)
        r = httpx.get(f"{layer}/{z}/{tile.x}/{tile.y}")
        assert r.status_code == 200
        points = _mvt_features(tmp_path / str(z), tile, r.content)
        w, s, e, n = margin_bounds(z, tile.x, tile.y)
        with psycopg.connect(demo_url) as conn:
            count, hectares = conn.execute(
                "SELECT count(*), sum(area_ha) FROM growing_area "
                "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", (w, s, e, n)
            ).fetchone()  # fmt: skip
        assert {f["geometry"]["type"] for f in points} == {"Point"}
        assert sum(f["properties"]["count"] for f in points) == count > len(points) > 0
        total = sum(f["properties"]["area_ha"] for f in points)
        assert abs(total - float(hectares)) < 0.01 * len(points)
        assert "code" not in points[0]["properties"]  # no one area's attributes on a cell
    tile = TMS.tile(lon, lat, 12)  # from z12 on each area is drawn with its attributes
    shapes = _mvt_features(
        tmp_path / "12", tile, httpx.get(f"{layer}/12/{tile.x}/{tile.y}").content
    )
    assert shapes and {f["geometry"]["type"] for f in shapes} <= {"Polygon", "MultiPolygon"}
    assert all(f["properties"]["code"].startswith("VN-") for f in shapes)
    fields = httpx.get(f"{layer}").json()["vector_layers"][0]["fields"]
    assert fields["count"] == "number" and fields["area_ha"] == "number"
