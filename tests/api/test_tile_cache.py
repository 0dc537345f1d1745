"""The tile cache: changes say where they happened, and only the tiles they touch are dropped."""

from __future__ import annotations

import time

import httpx
import morecantile
import psycopg

from api.layerwatch import APPLICATION_NAME, parse_change
from api.tilecache import TileCache, make_tile
from layers.serving.tiles import margin_bounds, touches
from tests.conftest import serve

TMS = morecantile.tms.get("WebMercatorQuad")


def _tile_url(base: str, tile: morecantile.Tile) -> str:
    return f"{base}/collections/households/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"


def _two_far_households(demo_url: str) -> tuple[tuple, tuple]:
    """(id, lon, lat) of the first household and of the one farthest from it."""
    with psycopg.connect(demo_url) as conn:
        near = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()
        far = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM household "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) DESC LIMIT 1",
            (near[1], near[2]),
        ).fetchone()
    return near, far


def _relabel(demo_url: str, hid: int, suffix: str) -> None:
    with psycopg.connect(demo_url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("UPDATE household SET label = label || %s WHERE id = %s", (suffix, hid))


def test_margin_bounds_cover_the_tile_and_its_buffer() -> None:
    tile = morecantile.Tile(26000, 14000, 15)
    b = TMS.bounds(tile)
    w, s, e, n = margin_bounds(tile.z, tile.x, tile.y)
    assert w < b.left < b.right < e and s < b.bottom < b.top < n
    pad = (b.right - b.left) * 64 / 4096
    assert abs((b.left - w) - pad) < 1e-9
    assert touches(15, tile.x, tile.y, (e - pad / 2, n - pad / 2, e + 1, n + 1))  # in the buffer
    assert not touches(15, tile.x, tile.y, (e + pad, s, e + 1, n))


def test_change_payloads_are_parsed() -> None:
    assert parse_change("household:7:105.5,20.25,105.75,20.5") == (
        "household",
        7,
        (105.5, 20.25, 105.75, 20.5),
    )
    assert parse_change("coverage:3:*") == ("coverage", 3, None)
    assert parse_change("coverage:3") == ("coverage", 3, None)  # the 0005 format
    assert parse_change("nonsense") is None and parse_change("a:b:*") is None


def test_the_cache_evicts_by_layer_and_extent() -> None:
    cache = TileCache()
    near = make_tile(b"a", tables=("household",), zxy=(15, 26000, 14000))
    other = make_tile(b"b", tables=("coverage",), zxy=(15, 26000, 14000))
    w, s, e, n = margin_bounds(15, 26000, 14000)
    cache.put(("households", 15, 26000, 14000), near)
    cache.put(("coverage", 15, 26000, 14000), other)
    assert cache.evict("household", (e + 1, s, e + 2, n)) == 0  # elsewhere
    assert cache.evict("household", (w, s, w + 1e-6, s + 1e-6)) == 1
    assert cache.get(("households", 15, 26000, 14000)) is None
    assert cache.get(("coverage", 15, 26000, 14000)) is other
    assert cache.evict("coverage", None) == 1 and len(cache) == 0


def test_a_change_notifies_its_extent_and_an_empty_change_notifies_nothing(demo_url) -> None:
    (hid, lon, lat), _ = _two_far_households(demo_url)
    with psycopg.connect(demo_url, autocommit=True) as listener:
        listener.execute("LISTEN agrimap_layers")
        with psycopg.connect(demo_url) as conn:
            conn.execute("SELECT set_config('agrimap.system', 'on', true)")
            conn.execute("UPDATE household SET label = label WHERE false")
            conn.execute("UPDATE household SET label = label WHERE id = %s", (hid,))
        notes = list(listener.notifies(timeout=2, stop_after=2))
    assert len(notes) == 1, [n.payload for n in notes]
    table, _, box = parse_change(notes[0].payload)
    assert table == "household"
    assert box == (lon, lat, lon, lat)


def test_a_write_drops_only_the_tiles_it_touches(live_server, demo_url) -> None:
    (hid, lon, lat), (_, flon, flat) = _two_far_households(demo_url)
    near, far = TMS.tile(lon, lat, 16), TMS.tile(flon, flat, 16)
    assert not touches(far.z, far.x, far.y, (lon, lat, lon, lat))  # the test needs them apart
    low = TMS.tile(lon, lat, 9)  # clustered: counts, not labels
    urls = {"near": _tile_url(live_server, near), "far": _tile_url(live_server, far),
            "low": _tile_url(live_server, low)}  # fmt: skip
    for url in urls.values():
        httpx.get(url)
    before = {k: httpx.get(u) for k, u in urls.items()}
    assert all(r.headers["x-agrimap-cache"] == "hit" for r in before.values())

    _relabel(demo_url, hid, " (sửa)")
    after = {k: httpx.get(u) for k, u in urls.items()}

    assert after["near"].headers["x-agrimap-cache"] == "miss"
    assert after["near"].headers["etag"] != before["near"].headers["etag"]
    assert "(sửa)".encode() in after["near"].content
    assert after["far"].headers["x-agrimap-cache"] == "hit"  # untouched: still cached
    assert after["far"].headers["etag"] == before["far"].headers["etag"]
    # The clustered tile was touched, so it was made again, but its content did not change:
    # the ETag is a content hash, so clients keep their 304.
    assert after["low"].headers["x-agrimap-cache"] == "miss"
    assert after["low"].headers["etag"] == before["low"].headers["etag"]
    etag = before["low"].headers["etag"]
    assert httpx.get(urls["low"], headers={"If-None-Match": etag}).status_code == 304


def test_no_stale_tile_while_the_listener_is_down(demo_url) -> None:
    (hid, lon, lat), _ = _two_far_households(demo_url)
    with serve(demo_url) as base:
        url = _tile_url(base, TMS.tile(lon, lat, 16))
        httpx.get(url)
        assert httpx.get(url).headers["x-agrimap-cache"] == "hit"
        with psycopg.connect(demo_url, autocommit=True) as admin:
            pids = [r[0] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                "AND datname = current_database()", (APPLICATION_NAME,)).fetchall()]  # fmt: skip
            assert pids, "the server has no listening connection"
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,))
            while admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone()[0]:
                time.sleep(0.05)
        # Nobody hears this change; the server must notice it is deaf and not use its cache.
        _relabel(demo_url, hid, " (khi mất kết nối)")
        r = httpx.get(url)
        assert r.headers["x-agrimap-cache"] == "miss"
        assert "(khi mất kết nối)".encode() in r.content
        deadline = time.monotonic() + 10  # it reconnects by itself and caches again
        while httpx.get(url).headers["x-agrimap-cache"] != "hit":
            assert time.monotonic() < deadline, "the tile cache did not come back"
            time.sleep(0.2)
        assert "(khi mất kết nối)".encode() in httpx.get(url).content


def test_a_change_not_yet_heard_still_drops_the_layer(live_server, demo_url) -> None:
    """The race the version read closes: a commit whose notification has not reached the
    server when the next request arrives. A version bump without a notification stands in
    for it; the next request must not be answered from the cache."""
    (_, lon, lat), _ = _two_far_households(demo_url)
    url = _tile_url(live_server, TMS.tile(lon, lat, 15))
    httpx.get(url)
    assert httpx.get(url).headers["x-agrimap-cache"] == "hit"
    with psycopg.connect(demo_url) as conn:
        conn.execute("UPDATE layer_version SET version = version + 1 WHERE layer = 'household'")
    assert httpx.get(url).headers["x-agrimap-cache"] == "miss"
    assert httpx.get(url).headers["x-agrimap-cache"] == "hit"


def test_raster_tiles_share_the_cache_and_its_listener(live_server, demo_url) -> None:
    """PNG tiles are cached like vector tiles and dropped when their raster's row changes;
    their ETag is a content hash too, so an unchanged tile keeps its 304."""
    with psycopg.connect(demo_url) as conn:
        rid, lon, lat = conn.execute(
            "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM soil_raster LIMIT 1"
        ).fetchone()
    tile = TMS.tile(lon, lat, 14)
    url = (
        f"{live_server}/collections/soil_rasters/items/{rid}/tiles/WebMercatorQuad/"
        f"{tile.z}/{tile.x}/{tile.y}.png"
    )
    first = httpx.get(url)
    again = httpx.get(url)
    assert again.headers["x-agrimap-cache"] == "hit"
    assert again.headers["etag"] == first.headers["etag"] and again.content == first.content
    with psycopg.connect(demo_url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("UPDATE soil_raster SET unit = unit WHERE id = %s", (rid,))
    after = httpx.get(url)
    assert after.headers["x-agrimap-cache"] == "miss"
    assert after.headers["etag"] == first.headers["etag"]
    assert httpx.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
