"""The tile fast path answers in front of FastAPI and every middleware (``api.app.AgriMapApp``):
a tile request, cached or not, still gets each refusal the middleware stack gives (a Host not
served, a body over its limit, NUL or a number beyond 64 bits in the path), and the answers
the stack would give it (ETag and 304, the route's bilingual errors)."""

from __future__ import annotations

import json

import httpx
import morecantile
import psycopg
import pytest

from tests.api.test_limits import _raw
from tests.conftest import serve

TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def tile_path(demo_url: str) -> str:
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()
    t = TMS.tile(lon, lat, 15)
    return f"/collections/households/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"


def _cached(live_server: str, path: str) -> httpx.Response:
    httpx.get(live_server + path)
    hit = httpx.get(live_server + path)
    assert hit.status_code == 200 and hit.headers["x-agrimap-cache"] == "hit"
    return hit


def test_a_cached_tile_is_refused_to_a_host_not_served(live_server: str, tile_path: str) -> None:
    _cached(live_server, tile_path)
    for host in ("evil.example", "evil.example:80", ""):
        r = httpx.get(live_server + tile_path, headers={"Host": host})
        assert r.status_code == 400, (host, r.status_code)
        assert "AGRIMAP_ALLOWED_HOSTS" in r.text and "x-agrimap-cache" not in r.headers
    # The allowed names are remembered; a forged one is refused again, every time.
    assert httpx.get(live_server + tile_path, headers={"Host": "localhost"}).status_code == 200
    assert httpx.get(live_server + tile_path, headers={"Host": "evil.example"}).status_code == 400


def test_a_tile_request_with_a_body_over_its_limit_is_413_unread(
    live_server: str, tile_path: str
) -> None:
    _cached(live_server, tile_path)
    head = f"GET {tile_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 70000\r\n\r\n"
    status, data, took = _raw(live_server, head.encode())  # not one byte of the body is sent
    assert status == 413 and took < 1.0, (status, took)
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["code"] == "TooLarge"


def test_tile_paths_holding_nul_or_huge_numbers_are_400(live_server: str, tile_path: str) -> None:
    z, x, y = tile_path.rsplit("/", 3)[1:]
    base = f"{live_server}/collections/households/tiles/WebMercatorQuad"
    for path in (f"/{z}/{x}%00/{y}", f"/{z}/{x}/{y}%00", f"/{z}/{x}/99999999999999999999"):
        r = httpx.get(base + path)
        assert r.status_code == 400, (path, r.status_code)
        assert "x-agrimap-cache" not in r.headers


def test_the_fast_path_answers_conditional_and_plain_requests(
    live_server: str, tile_path: str
) -> None:
    hit = _cached(live_server, tile_path)
    etag = hit.headers["etag"]
    again = httpx.get(live_server + tile_path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    # What the fast path leaves to the routes: a query string (the same tile, or the route's
    # refusal of an unknown parameter), tiles outside the matrix.
    query = httpx.get(live_server + tile_path + "?f=mvt")
    assert query.content == hit.content or query.status_code == 400, query.status_code
    bad = httpx.get(f"{live_server}/collections/households/tiles/WebMercatorQuad/3/9/0")
    assert bad.status_code == 404 and bad.json()["description_en"]


def test_connections_the_server_dropped_are_replaced_unseen(demo_url: str, tile_path: str) -> None:
    """The pool checks a connection it hands out by its socket (``check_if_disturbed``): one
    whose backend was terminated is replaced before a request gets it, without a 5xx."""
    name = "agrimap-pool-check-test"
    url = demo_url + ("&" if "?" in demo_url else "?") + f"application_name={name}"
    with serve(url, AGRIMAP_TILE_CACHE_MB="0", AGRIMAP_POOL_MIN="4") as base:
        paths = [tile_path, "/collections/households/items?limit=5"]
        assert all(httpx.get(base + p).status_code == 200 for p in paths * 4)
        with psycopg.connect(demo_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone()[0]
        assert killed >= 2
        statuses = [httpx.get(base + p).status_code for p in paths * 8]
    assert statuses == [200] * len(statuses)
