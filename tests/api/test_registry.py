"""The growing-area registry through the live server: register, check, edit, status, delete."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from agrimap.clicommon import run_async
from layers import accounts

PASSWORD = "mật-khẩu-vùng-trồng-01"
YEAR = dt.date.today().year % 100
# New codes name today's province (Lào Cai, 15) and commune, no abolished district (issue 14).
CODE = re.compile(rf"^VN-15-02923-(\d{{2,}})-{YEAR:02d}$")


@pytest.fixture(scope="module")
def spots(demo_url: str) -> list[dict]:
    """Empty squares (~60 m) inside commune 02923, away from every growing area."""
    with psycopg.connect(demo_url) as conn:
        rows = conn.execute(
            """
            WITH c AS (SELECT geom FROM commune WHERE code = '02923'),
            grid AS (
              SELECT ST_MakeEnvelope(x, y, x + 0.0006, y + 0.0006, 4326) AS g
              FROM c,
                   generate_series(ST_XMin(c.geom)::numeric, ST_XMax(c.geom)::numeric, 0.0025) x,
                   generate_series(ST_YMin(c.geom)::numeric, ST_YMax(c.geom)::numeric, 0.0025) y)
            SELECT ST_AsGeoJSON(g, 7) FROM grid, c
            WHERE ST_Within(ST_Buffer(g, 0.0003), c.geom)
              AND NOT EXISTS (SELECT 1 FROM growing_area a WHERE ST_DWithin(a.geom, g, 0.0003))
            ORDER BY random()
            """
        ).fetchall()
    assert len(rows) > 80
    return [json.loads(r[0]) for r in rows]


@pytest.fixture(scope="module")
def officer(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    out = {}
    for key, communes in (("A", ["02923"]), ("B", ["02926"])):
        name = f"reg-{key.lower()}-{tag}"
        run_async(
            demo_url, accounts.add_user, username=name, role="officer", password=PASSWORD,
            communes=communes, by="tests",
        )  # fmt: skip
        _, token = run_async(
            demo_url, accounts.create_token, username=name, name="tests", by="tests"
        )
        out[key] = {"Authorization": f"Bearer {token}"}
    return out


def feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": {"crop": "Chè", **props}}


def create(base: str, headers: dict, geometry: dict, **props) -> httpx.Response:
    return httpx.post(
        f"{base}/collections/growing_areas/items", json=feature(geometry, **props), headers=headers
    )


def _projector(g):
    """A function putting geometries in a Lambert equal-area projection centred on ``g`` (m)."""
    c = g.centroid
    laea = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={c.y} +lon_0={c.x} +ellps=WGS84", always_xy=True
    )
    return lambda geom: shapely.transform(
        geom, lambda xy: np.column_stack(laea.transform(xy[:, 0], xy[:, 1]))
    )


def equal_area_m2(geometry: dict) -> float:
    """Area by an independent method: planar area in a local Lambert equal-area projection."""
    g = shape(geometry)
    return _projector(g)(g).area


def test_register_issues_a_code_and_measures_the_area(live_server, officer, spots) -> None:
    spot = spots.pop()
    r = create(live_server, officer["A"], spot, owner="HTX Chè Gia Phú", member_households=7)
    assert r.status_code == 201, r.text
    body = r.json()
    assert CODE.match(body["properties"]["code"]), body["properties"]["code"]
    assert r.headers["etag"] == '"v1"' and r.headers["location"].endswith(f"/{body['id']}")
    assert body["properties"]["cooperative"] == "HTX Chè Gia Phú"
    assert body["properties"]["commune_code"] == "02923"
    expected_ha = equal_area_m2(spot) / 10_000
    assert body["properties"]["area_ha"] == pytest.approx(expected_ha, rel=1e-3)
    got = httpx.get(f"{live_server}/collections/growing_areas/items/{body['id']}")
    assert got.headers["etag"] == '"v1"'


def test_check_reports_problems_before_submitting(live_server, officer, spots) -> None:
    spot = spots.pop()
    first = create(live_server, officer["A"], spot).json()
    ring = spot["coordinates"][0]
    shifted = {"type": "Polygon", "coordinates": [[[x + 0.0003, y] for x, y in ring]]}
    check = httpx.post(
        f"{live_server}/collections/growing_areas/check",
        json=feature(shifted),
        headers=officer["A"],
    ).json()
    overlap = [p for p in check["problems"] if p["kind"] == "overlap"]
    assert overlap and overlap[0]["other_code"] == first["properties"]["code"]
    assert overlap[0]["overlap_m2"] > 1000 and overlap[0]["severity"] == "error"
    refused = create(live_server, officer["A"], shifted)
    assert refused.status_code == 409
    assert first["properties"]["code"] in refused.json()["description"]
    assert "Chồng lấn" in refused.json()["description"]


@pytest.mark.parametrize(
    ("make", "status", "needle"),
    [
        (lambda x, y: [[x, y], [x + 0.001, y + 0.001], [x + 0.001, y], [x, y + 0.001], [x, y]], 400, "tự cắt"),
        (lambda x, y: [[x, y], [x + 0.00005, y], [x + 0.00005, y + 0.00005], [x, y]], 400, "quá nhỏ"),
        (lambda x, y: [[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]], 400, "ngoài ranh giới xã"),
    ],
    ids=["self-intersection", "too-small", "outside-commune"],
)  # fmt: skip
def test_bad_boundaries_are_refused_in_vietnamese(
    live_server, officer, spots, make, status, needle
) -> None:
    x, y = spots[-1]["coordinates"][0][0]
    r = create(live_server, officer["A"], {"type": "Polygon", "coordinates": [make(x, y)]})
    assert r.status_code == status and needle in r.json()["description"], r.text


def test_bad_records_are_refused(live_server, officer, spots) -> None:
    spot = spots[-1]
    no_crop = httpx.post(
        f"{live_server}/collections/growing_areas/items",
        json={"type": "Feature", "geometry": spot, "properties": {"member_households": -2}},
        headers=officer["A"],
    )
    assert no_crop.status_code == 400
    assert "cây trồng là bắt buộc" in no_crop.json()["description"]
    assert "số hộ không được âm" in no_crop.json()["description"]
    point = create(live_server, officer["A"], {"type": "Point", "coordinates": [104.1, 22.4]})
    assert point.status_code == 400 and "Polygon" in point.json()["description"]


def test_officer_of_another_commune_cannot_register_here(live_server, officer, spots) -> None:
    r = create(live_server, officer["B"], spots[-1])
    assert r.status_code == 403 and "02923" in r.json()["description"]


def test_fifty_concurrent_registrations_get_fifty_codes(
    live_server, officer, spots, demo_url
) -> None:
    batch = [spots.pop() for _ in range(50)]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
            return await asyncio.gather(*(
                client.post("/collections/growing_areas/items", json=feature(g), headers=officer["A"])
                for g in batch
            ))  # fmt: skip

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ][:2]
    codes = [r.json()["properties"]["code"] for r in responses]
    assert len(set(codes)) == 50
    serials = sorted(int(CODE.match(c).group(1)) for c in codes)
    assert serials == list(range(serials[0], serials[0] + 50))  # no gaps, no repeats
    with psycopg.connect(demo_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM growing_area WHERE code = ANY(%s)", (codes,)
            ).fetchone()[0]
            == 50
        )


def test_second_save_of_the_same_version_gets_409(live_server, officer, spots) -> None:
    created = create(live_server, officer["A"], spots.pop()).json()
    url = f"{live_server}/collections/growing_areas/items/{created['id']}"
    etag = httpx.get(url).headers["etag"]
    first = httpx.patch(
        url, json={"properties": {"crop": "Cà phê"}}, headers={**officer["A"], "If-Match": etag}
    )
    assert first.status_code == 200 and first.headers["etag"] == '"v2"'
    second = httpx.patch(
        url, json={"properties": {"crop": "Lúa"}}, headers={**officer["A"], "If-Match": etag}
    )
    assert second.status_code == 409 and "người khác sửa" in second.json()["description"]
    blind = httpx.patch(url, json={"crop": "Lúa"}, headers=officer["A"])
    assert blind.status_code == 428
    assert httpx.get(url).json()["properties"]["crop"] == "Cà phê"  # nothing was overwritten


def test_status_actions_and_history(live_server, officer, spots) -> None:
    created = create(live_server, officer["A"], spots.pop(), note="Ghi chú nội bộ").json()
    url = f"{live_server}/collections/growing_areas/items/{created['id']}"
    h = officer["A"]
    no_reason = httpx.post(f"{url}/suspend", json={"version": 1}, headers=h)
    assert no_reason.status_code == 400 and "lý do" in no_reason.json()["description"]
    s = httpx.post(f"{url}/suspend", json={"reason": "Phát hiện sâu đục quả", "date": "2026-11-01"},
                   headers={**h, "If-Match": '"v1"'})  # fmt: skip
    assert s.status_code == 200, s.text
    props = s.json()["properties"]
    assert (props["status"], props["status_reason"], props["status_changed_on"]) == (
        "suspended", "Phát hiện sâu đục quả", "2026-11-01")  # fmt: skip
    again = httpx.post(f"{url}/suspend", json={"reason": "x", "version": 2}, headers=h)
    assert again.status_code == 409
    assert (
        httpx.post(f"{url}/reinstate", json={"version": 2}, headers=h).json()["properties"][
            "status"
        ]
        == "active"
    )
    revoked = httpx.post(
        f"{url}/revoke", json={"reason": "Ngừng sản xuất", "version": 3}, headers=h
    )
    assert revoked.json()["properties"]["status"] == "revoked"
    versions = httpx.get(f"{url}/history").json()["versions"]
    assert [(v["version"], v["properties"]["status"]) for v in versions] == [
        (1, "active"), (2, "suspended"), (3, "active"), (4, "revoked")]  # fmt: skip
    # Each status action is named as itself in the history, not as an "update" (issue 14).
    assert [v["operation"] for v in versions] == ["insert", "suspend", "reinstate", "revoke"]
    edited = httpx.patch(url, json={"note": "Đã kiểm tra lại"}, headers={**h, "If-Match": '"v4"'})
    assert edited.status_code == 200, edited.text
    last = httpx.get(f"{url}/history").json()["versions"][-1]
    assert (last["version"], last["operation"]) == (5, "update")
    assert "changed_by" not in versions[0]  # anonymous readers do not see officers' names
    assert all("note" not in v["properties"] for v in versions)  # nor their free-text notes
    signed = httpx.get(f"{url}/history", headers=h).json()["versions"]
    assert all(v["changed_by"].startswith("reg-a-") for v in signed)
    assert all("note" in v["properties"] for v in signed)


def test_delete_needs_the_version_and_keeps_history(live_server, officer, spots) -> None:
    created = create(live_server, officer["A"], spots.pop()).json()
    url = f"{live_server}/collections/growing_areas/items/{created['id']}"
    assert httpx.delete(url, headers=officer["A"]).status_code == 428
    assert httpx.delete(url, headers={**officer["A"], "If-Match": '"v9"'}).status_code == 409
    assert httpx.delete(url, headers={**officer["A"], "If-Match": '"v1"'}).status_code == 204
    assert httpx.get(url).status_code == 404
    ops = [v["operation"] for v in httpx.get(f"{url}/history").json()["versions"]]
    assert ops == ["insert", "delete"]


def test_boundary_from_uploaded_files(live_server, officer, spots, tmp_path: Path) -> None:
    ring = spots[-1]["coordinates"][0]
    kml = tmp_path / "thua.kml"
    coords = " ".join(f"{x},{y},0" for x, y in ring)
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Placemark><name>Thửa chè</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>",
        encoding="utf-8",
    )
    gpx = tmp_path / "di_bo.gpx"
    pts = "".join(f'<trkpt lat="{y}" lon="{x}"></trkpt>' for x, y in ring[:-1])
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>walk</name><trkseg>{pts}</trkseg></trk></gpx>"
    )
    for path in (kml, gpx):
        with path.open("rb") as fh:
            r = httpx.post(f"{live_server}/growing-areas/boundary", files={"file": (path.name, fh)},
                           headers=officer["A"])  # fmt: skip
        assert r.status_code == 200, r.text
        got = shape(r.json()["geometry"])
        assert got.symmetric_difference(shape(spots[-1])).area < 1e-12, path.name
        assert r.json()["note_vi"].startswith("Đọc ")
    empty = tmp_path / "rong.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with empty.open("rb") as fh:
        r = httpx.post(
            f"{live_server}/growing-areas/boundary",
            files={"file": (empty.name, fh)},
            headers=officer["A"],
        )
    assert r.status_code == 400 and r.json()["description"]


def _metres_apart(a, b) -> float:
    """Hausdorff distance between two lon/lat geometries, in metres."""
    project = _projector(a)
    return project(a).hausdorff_distance(project(b))


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml", "eudr"])
def test_draw_save_export_reimport_round_trip(
    fmt, live_server, officer, spots, conn, tmp_path: Path
) -> None:
    from layers.ingest import import_file

    ring = spots.pop()["coordinates"][0]
    # A hand-drawn shape: irregular vertices with full precision, as Leaflet sends them.
    drawn = {"type": "Polygon", "coordinates": [[
        [ring[0][0] + 0.0000123456, ring[0][1]], [ring[1][0], ring[1][1] + 0.0000654321],
        [ring[2][0] - 0.0000111111, ring[2][1]], [ring[3][0], ring[3][1] - 0.0000222222],
        [ring[0][0] + 0.0000123456, ring[0][1]]]]}  # fmt: skip
    created = create(live_server, officer["A"], drawn, owner="HTX Cà phê Gia Phú").json()
    r = httpx.get(f"{live_server}/collections/growing_areas/items/{created['id']}/export?f={fmt}")
    assert r.status_code == 200, r.text
    name = re.search(r'filename="([^"]+)"', r.headers["content-disposition"]).group(1)
    path = tmp_path / name
    path.write_bytes(r.content)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", f"/vsizip/{path}" if fmt == "shp" else str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert info.returncode == 0 and "Feature Count: 1" in info.stdout, info.stdout + info.stderr
    if fmt == "eudr":
        from geo.eudr import validate_eudr

        assert validate_eudr(json.loads(r.content)) == []
        got = shape(json.loads(r.content)["features"][0]["geometry"])
    else:
        # An imported area must lie in a stored commune (issue 15): the demo's boundary.
        demo = Path(__file__).resolve().parents[2] / "data" / "shapefiles" / "ranh_gioi_xa.shp"
        import_file(conn, demo, layer="communes", user="tests", data_dir=tmp_path)
        import_file(conn, path, layer="growing_areas", user="tests", data_dir=tmp_path)
        conn.commit()
        code, wkt = conn.execute("SELECT code, ST_AsText(geom) FROM growing_area").fetchone()
        assert code == created["properties"]["code"]
        got = shapely.from_wkt(wkt)
    # Within 1 cm; the EUDR file keeps the 6 decimals the EU system stores (≤ 8 cm).
    assert _metres_apart(shape(drawn), got) < (0.08 if fmt == "eudr" else 0.01)


def test_the_registry_takes_the_names_it_returns(live_server, officer, spots) -> None:
    """``cooperative`` in, ``cooperative`` out; a person goes in and out as ``owner_name``
    (officers only); the old ``owner`` is still split by the organisation rule (issue 14)."""
    h = officer["A"]
    coop = create(live_server, h, spots.pop(), cooperative="Tổ sản xuất chè Cóc Sa")
    assert coop.status_code == 201, coop.text
    assert coop.json()["properties"]["cooperative"] == "Tổ sản xuất chè Cóc Sa"
    person = create(live_server, h, spots.pop(), owner_name="Lò Thị Mai")
    assert person.status_code == 201, person.text
    props = person.json()["properties"]
    assert (props["owner_name"], props["cooperative"]) == ("Lò Thị Mai", None)
    public = httpx.get(f"{live_server}/collections/growing_areas/items/{props['id']}").json()
    assert "owner_name" not in public["properties"] and "Lò Thị Mai" not in str(public)
    old = create(live_server, h, spots.pop(), owner="HTX Nông nghiệp Gia Phú").json()
    assert (old["properties"]["cooperative"], old["properties"]["owner_name"]) == (
        "HTX Nông nghiệp Gia Phú", None)  # fmt: skip
    url = f"{live_server}/collections/growing_areas/items/{old['id']}"
    changed = httpx.patch(url, json={"cooperative": "HTX Chè Gia Phú"},
                          headers={**h, "If-Match": '"v1"'})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["properties"]["cooperative"] == (
        "HTX Chè Gia Phú")  # fmt: skip
    both = create(live_server, h, spots[-1], owner="HTX A", cooperative="HTX B")
    assert both.status_code == 400 and "không gửi cả hai" in both.json()["description"]
