"""OGC API - Features against the live server and the demo commune."""

from __future__ import annotations

import asyncio
import io
import zipfile

import httpx
import morecantile
import orjson
import psycopg
import pytest

from agrimap.settings import Settings
from layers.serving import features
from layers.serving.catalog import BY_ID, COLLECTIONS
from tests.conftest import serve

PERSONAL_KEYS = {"head_name", "phone", "qr_token", "owner_name", "ten_chu_ho", "dien_thoai"}


def test_landing_links_and_conformance(live_server: str) -> None:
    doc = httpx.get(f"{live_server}/").json()
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = httpx.get(f"{live_server}/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf


def test_every_layer_is_a_collection_with_data(live_server: str) -> None:
    docs = {c["id"]: c for c in httpx.get(f"{live_server}/collections").json()["collections"]}
    assert set(docs) == {c.id for c in COLLECTIONS}
    for coll in COLLECTIONS:
        if coll.id == "provinces":
            continue  # the demo loads a commune; its province has no boundary
        bbox = docs[coll.id]["extent"]["spatial"]["bbox"][0]
        assert 103.9 < bbox[0] < bbox[2] < 104.3 and 22.2 < bbox[1] < bbox[3] < 22.5, coll.id


def test_items_paging_follows_next_links_to_the_end(live_server: str) -> None:
    url = f"{live_server}/collections/households/items?limit=1000"
    seen: list[int] = []
    matched = None
    while url:
        page = httpx.get(url).json()
        matched = page["numberMatched"]
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == matched > 2000


def test_bbox_and_property_filters(live_server: str) -> None:
    everything = httpx.get(f"{live_server}/collections/growing_areas/items?limit=1000").json()
    crops = {f["properties"]["crop"] for f in everything["features"]}
    crop = sorted(crops)[0]
    only = httpx.get(
        f"{live_server}/collections/growing_areas/items", params={"crop": crop, "limit": 1000}
    ).json()
    assert only["numberMatched"] == sum(
        f["properties"]["crop"] == crop for f in everything["features"]
    )
    assert {f["properties"]["crop"] for f in only["features"]} == {crop}
    first = everything["features"][0]["geometry"]["coordinates"][0][0][0]
    box = f"{first[0] - 0.0005},{first[1] - 0.0005},{first[0] + 0.0005},{first[1] + 0.0005}"
    near = httpx.get(f"{live_server}/collections/growing_areas/items", params={"bbox": box}).json()
    assert 1 <= near["numberMatched"] < everything["numberMatched"]


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/collections/households/items?colour=red", "colour"),
        ("/collections/households/items?limit=abc", "limit"),
        ("/collections/households/items?bbox=1,2,3", "bbox"),
        ("/collections/households/items?has_fibre=maybe", "has_fibre"),
        ("/collections/households/items?head_name=Nguyen", "head_name"),
        ("/collections?foo=1", "foo"),
    ],
)
def test_bad_parameters_get_400_in_vietnamese(live_server: str, path: str, needle: str) -> None:
    r = httpx.get(live_server + path)
    assert r.status_code == 400
    body = r.json()
    assert needle in body["description"] and needle in body["description_en"]
    assert any(ch in body["description"] for ch in "ạảấầẩẫậắằẳẵặẹẻẽếềểễệịọỏốồổỗộớờởỡợụủứừửữựỳỷỹđ")


def test_unknown_collection_and_feature_give_404(live_server: str) -> None:
    assert httpx.get(f"{live_server}/collections/farms").status_code == 404
    assert httpx.get(f"{live_server}/collections/households/items/999999999").status_code == 404
    assert httpx.get(f"{live_server}/collections/households/items/abc").status_code == 404


def test_single_feature_and_html(live_server: str) -> None:
    first = httpx.get(f"{live_server}/collections/villages/items?limit=1").json()["features"][0]
    one = httpx.get(f"{live_server}/collections/villages/items/{first['id']}")
    assert one.headers["content-type"].startswith("application/geo+json")
    assert one.json()["properties"]["name"] == first["properties"]["name"]
    page = httpx.get(f"{live_server}/collections/villages/items?f=html")
    assert page.headers["content-type"].startswith("text/html")
    assert first["properties"]["name"] in page.text and 'lang="vi"' in page.text


def test_openapi_is_3_0(live_server: str) -> None:
    doc = httpx.get(f"{live_server}/api").json()
    assert doc["openapi"].startswith("3.0")
    assert "/collections/{collection_id}/items" in doc["paths"]
    assert '"type": "null"' not in httpx.get(f"{live_server}/api").text


def test_no_personal_data_in_any_public_collection(live_server: str, demo_url: str) -> None:
    """Crawl every collection in full as an anonymous client: no name, phone or token leaks."""
    with psycopg.connect(demo_url) as conn:
        secrets = [
            v
            for row in conn.execute("SELECT head_name, phone, qr_token FROM household")
            for v in row
            if v
        ]
        secrets += [
            r[0]
            for r in conn.execute(
                "SELECT owner_name FROM growing_area WHERE owner_name IS NOT NULL"
            )
        ]
    assert len(secrets) > 5000
    bodies = []
    for coll in COLLECTIONS:
        for fmt in ("json", "html"):
            url: str | None = f"{live_server}/collections/{coll.id}/items?limit=10000&f={fmt}"
            while url:
                r = httpx.get(url)
                assert r.status_code == 200
                bodies.append(r.text)
                url = None
                if fmt == "json":
                    page = r.json()
                    for f in page["features"]:
                        assert not PERSONAL_KEYS & set(f["properties"]), coll.id
                    url = next((lk["href"] for lk in page["links"] if lk["rel"] == "next"), None)
    # Every other page an anonymous client can open, and a sample of QR pages.
    for path in ("/", "/?f=html", "/collections", "/collections?f=html", "/api", "/api.html",
                 "/maps/overview", "/login", "/stats/villages", "/admin/audit?f=csv",
                 "/registry/households/1", "/maps/households/1",
                 "/collections/growing_areas/items/1/sheet",
                 "/collections/growing_areas/items/1/history"):  # fmt: skip
        bodies.append(httpx.get(live_server + path, follow_redirects=True).text)
    # Vector tiles of every layer around the demo commune, at a cluster and a detail zoom.
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM household LIMIT 1").fetchone()
    for z in (12, 15):
        t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
        r = httpx.get(f"{live_server}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
        assert r.status_code == 200 and len(r.content) > 100
        bodies.append(r.content.decode("utf-8", errors="replace"))
    # Every export format, in full (binary formats searched as bytes).
    for fmt in ("geojson", "gpkg", "shp", "kml", "eudr"):
        r = httpx.get(f"{live_server}/collections/growing_areas/export?f={fmt}", timeout=60)
        assert r.status_code == 200, fmt
        bodies.append(r.content.decode("utf-8", errors="replace"))
        if fmt == "shp":
            with zipfile.ZipFile(io.BytesIO(r.content)) as z:
                bodies += [z.read(n).decode("utf-8", errors="replace") for n in z.namelist()]
    with psycopg.connect(demo_url) as conn:
        tokens = [t for (t,) in conn.execute("SELECT qr_token FROM household ORDER BY id LIMIT 20")]
    for token in tokens:
        for accept in ("text/html", "application/json"):
            r = httpx.get(f"{live_server}/q/{token}", headers={"Accept": accept})
            assert r.status_code == 200
            bodies.append(r.text)
    everything = "\n".join(bodies)
    leaked = [s for s in secrets if s in everything]
    assert not leaked, leaked[:5]


# --- numberMatched: exact below the count cap, the planner's estimate above it ----------------

HOUSEHOLDS = BY_ID["households"]
CAP = Settings().count_cap  # what the server passes (AGRIMAP_COUNT_CAP); small_cap lowers it


def _page(url: str, query: features.FeatureQuery) -> features.FeaturePage:
    async def run() -> features.FeaturePage:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await features.feature_page(conn, HOUSEHOLDS, query=query, count_cap=CAP)

    return asyncio.run(run())


def _small_box(demo_url: str, wanted: int = 20) -> tuple[tuple[float, ...], list[int]]:
    """A bbox around the first household holding about ``wanted`` households, and their ids."""
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1"
        ).fetchone()
        d = 0.0002
        while True:
            box = (lon - d, lat - d, lon + d, lat + d)
            ids = [i for (i,) in conn.execute(
                "SELECT id FROM household WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY id",
                box,
            )]  # fmt: skip
            if len(ids) >= wanted:
                return box, ids
            d *= 1.5


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> int:
    """A count cap of 300, fresh statistics and no cached estimates."""
    monkeypatch.setitem(globals(), "CAP", 300)
    monkeypatch.setattr(features, "_estimates", {})
    with psycopg.connect(demo_url, autocommit=True) as conn:
        conn.execute("ANALYZE household")
    return 300


def test_whole_table_past_the_cap_gives_the_table_estimate(demo_url: str, small_cap: int) -> None:
    with psycopg.connect(demo_url) as conn:
        total = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    assert total > 2 * small_cap
    first = _page(demo_url, features.FeatureQuery(limit=50))
    assert first.matched_is_estimate is True
    assert first.number_matched == total  # reltuples after ANALYZE of a small table is exact
    assert first.number_returned == 50 and first.next_after is not None
    # The estimate is now cached: the next page is not counted again, and says the same.
    assert features._estimates[(HOUSEHOLDS.table, None, ())][1] == total
    second = _page(demo_url, features.FeatureQuery(limit=50, after=first.next_after))
    assert (second.number_matched, second.matched_is_estimate) == (total, True)


def test_filtered_past_the_cap_gives_the_plan_estimate(demo_url: str, small_cap: int) -> None:
    with psycopg.connect(demo_url) as conn:
        box = conn.execute(
            "SELECT ST_XMin(e) - 0.01, ST_YMin(e) - 0.01, ST_XMax(e) + 0.01, ST_YMax(e) + 0.01 "
            "FROM (SELECT ST_Extent(geom) e FROM household) s"
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM household").fetchone()[0]
    page = _page(demo_url, features.FeatureQuery(limit=10, bbox=box))
    assert page.matched_is_estimate is True
    # Never below what is known (more than the cap), and of the right order of magnitude.
    assert small_cap < page.number_matched <= 10 * total
    assert page.number_returned == 10


def test_small_bbox_and_filters_count_exactly(demo_url: str, small_cap: int) -> None:
    box, ids = _small_box(demo_url)
    assert len(ids) < small_cap
    page = _page(demo_url, features.FeatureQuery(limit=5, bbox=box))
    assert (page.number_matched, page.matched_is_estimate) == (len(ids), False)
    assert page.number_returned == 5 and page.next_after == str(ids[4])
    with psycopg.connect(demo_url) as conn:
        village, n = conn.execute(
            "SELECT village_code, count(*) FROM household GROUP BY 1 HAVING count(*) < %s "
            "ORDER BY 2 DESC LIMIT 1",
            (small_cap,),
        ).fetchone()
    page = _page(demo_url, features.FeatureQuery(limit=10, equals={"village_code": village}))
    assert (page.number_matched, page.matched_is_estimate) == (n, False)


@pytest.mark.parametrize("filtered", [False, True])
def test_cursor_paging_returns_every_feature_once(
    demo_url: str, small_cap: int, filtered: bool
) -> None:
    with psycopg.connect(demo_url) as conn:
        if filtered:  # the western half of the households: past the cap, so estimated
            box = conn.execute(
                "SELECT ST_XMin(e) - 0.01, ST_YMin(e) - 0.01, (ST_XMin(e) + ST_XMax(e)) / 2, "
                "ST_YMax(e) + 0.01 FROM (SELECT ST_Extent(geom) e FROM household) s"
            ).fetchone()
            expected = [i for (i,) in conn.execute(
                "SELECT id FROM household WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY id",
                box,
            )]  # fmt: skip
        else:
            box = None
            expected = [i for (i,) in conn.execute("SELECT id FROM household ORDER BY id")]
    assert len(expected) > small_cap
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = _page(demo_url, features.FeatureQuery(limit=400, bbox=box, after=after))
        pages += 1
        body = orjson.loads("[" + page.features_json + "]")
        assert len(body) == page.number_returned
        assert all(
            f["type"] == "Feature" and not PERSONAL_KEYS & set(f["properties"]) for f in body
        )
        seen += [f["id"] for f in body]
        assert page.matched_is_estimate is True and page.number_matched > small_cap
        if page.next_after is None:
            break
        assert page.next_after == str(seen[-1])
        after = page.next_after
    assert seen == expected  # every feature once, in id order
    assert pages == -(-len(expected) // 400)


def test_estimate_flag_over_http(demo_url: str) -> None:
    """The flag end to end, with the server's cap lowered so the demo commune passes it."""
    box, ids = _small_box(demo_url)
    with serve(demo_url, AGRIMAP_COUNT_CAP="300") as base:
        url = f"{base}/collections/households/items"
        big = httpx.get(url, params={"limit": 20}).json()
        assert big["numberMatchedIsEstimate"] is True and big["numberMatched"] > 300
        assert big["numberReturned"] == len(big["features"]) == 20
        small = httpx.get(url, params={"bbox": ",".join(map(str, box)), "limit": 1000}).json()
        assert "numberMatchedIsEstimate" not in small
        assert small["numberMatched"] == small["numberReturned"] == len(ids)
        assert [f["id"] for f in small["features"]] == ids
        assert not any(lk["rel"] == "next" for lk in small["links"])
        html = httpx.get(url, params={"limit": 20, "f": "html"}).text
        # Vietnamese thousands separator: "2.626" (issue 14).
        assert f"20 / khoảng {big['numberMatched']:,}".replace(",", ".") in html
        html = httpx.get(url, params={"bbox": ",".join(map(str, box)), "f": "html"}).text
        assert f"{len(ids)} / {len(ids)}" in html and "khoảng" not in html


def test_cursor_paging_within_the_cap_counts_every_page_exactly(
    demo_url: str, small_cap: int
) -> None:
    """Under the cap the count and the page come from one scan; later pages still count the
    whole filter, not what follows the cursor."""
    box, ids = _small_box(demo_url, wanted=23)
    assert len(ids) < small_cap
    seen: list[int] = []
    after = None
    while True:
        page = _page(demo_url, features.FeatureQuery(limit=5, bbox=box, after=after))
        assert (page.number_matched, page.matched_is_estimate) == (len(ids), False)
        seen += [f["id"] for f in orjson.loads("[" + page.features_json + "]")]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ids


def _ids_in(conn: psycopg.Connection, box: tuple[float, ...]) -> list[int]:
    return [i for (i,) in conn.execute(
        "SELECT id FROM household WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY id",
        box,
    )]  # fmt: skip


@pytest.mark.parametrize(
    ("shift", "inside"),
    [
        (0.0, True),  # on the edge
        (-5e-5, True),  # inside, nearer the edge than the shortcut's margin
        (1e-9, False),  # just outside
        (5e-6, False),  # outside by less than the single-precision boxes can tell
    ],
)
@pytest.mark.parametrize("edge", ["west", "east", "south", "north"])
def test_bbox_edges_are_exact(demo_url: str, edge: str, shift: float, inside: bool) -> None:
    """A bbox page holds exactly the features ST_Intersects finds, also at the edges where the
    index's single-precision boxes and the interior shortcut do not decide."""
    with psycopg.connect(demo_url) as conn:
        hid, x, y = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM household ORDER BY id LIMIT 1 OFFSET 7"
        ).fetchone()
        d = 0.004  # a box big enough for the shortcut (more than twice its margin)
        box = {
            "west": (x + shift, y - d, x + 2 * d, y + d),
            "east": (x - 2 * d, y - d, x - shift, y + d),
            "south": (x - d, y + shift, x + d, y + 2 * d),
            "north": (x - d, y - 2 * d, x + d, y - shift),
        }[edge]
        expected = _ids_in(conn, box)
    assert (hid in expected) is inside
    page = _page(demo_url, features.FeatureQuery(limit=1000, bbox=box))
    got = [f["id"] for f in orjson.loads("[" + page.features_json + "]")]
    assert got == expected and page.number_matched == len(expected)
