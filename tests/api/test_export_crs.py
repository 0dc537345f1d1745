"""Exports name the commune, village and province, can be written in VN-2000 (the province's
TM-3 zone) as GeoPackage and shapefile, read back by GDAL's ogrinfo with the right CRS, and
carry public fields only whoever asks (issue 14)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import httpx
import psycopg
import pyproj
import pytest
import shapely
from shapely.geometry import shape

from agrimap.clicommon import run_async
from layers import accounts

EXPORT = "/collections/growing_areas/export"


def _ogrinfo(*args: str) -> str:
    exe = shutil.which("ogrinfo")
    assert exe, "ogrinfo is missing: ./run.sh test installs Debian's gdal-bin"
    done = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _download(base: str, tmp: Path, path: str, **params) -> Path:
    r = httpx.get(base + path, params=params, timeout=60)
    assert r.status_code == 200, r.text
    name = re.search(r'filename="([^"]+)"', r.headers["content-disposition"]).group(1)
    out = tmp / name
    out.write_bytes(r.content)
    return out


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_vn2000_export_is_read_by_ogrinfo_in_the_province_zone(
    fmt: str, live_server: str, demo_url: str, tmp_path: Path
) -> None:
    path = _download(live_server, tmp_path, EXPORT, f=fmt, crs="vn2000", commune_code="02923")
    assert "vn2000-9208" in path.name
    source = f"/vsizip/{path}" if fmt == "shp" else str(path)
    info = _ogrinfo("-ro", "-al", "-so", source)
    # Lào Cai's TM-3 zone, central meridian 104°45′, k = 0.9999, false easting 500 km.
    assert 'PROJCRS["VN-2000 / TM-3 104-45"' in info or 'PROJCRS["VN_2000_TM_3_104_45"' in info
    assert 'ID["EPSG",9208]' in info, info
    assert re.search(r'"Longitude of natural origin",104\.75', info)
    assert re.search(r'"Scale factor at natural origin",0\.9999', info)
    count = int(re.search(r"Feature Count: (\d+)", info).group(1))
    with psycopg.connect(demo_url) as conn:
        expected = conn.execute(
            "SELECT count(*) FROM growing_area WHERE commune_code = '02923'"
        ).fetchone()[0]
        code, wkt = conn.execute(
            "SELECT code, ST_AsText(geom) FROM growing_area WHERE commune_code = '02923' "
            "ORDER BY code LIMIT 1"
        ).fetchone()
    assert count == expected > 100
    # Easting/northing in metres, and the first area where the official shift puts it.
    extent = re.search(r"Extent: \(([\d.]+), ([\d.]+)\) - \(([\d.]+), ([\d.]+)\)", info)
    xmin, ymin, xmax, ymax = map(float, extent.groups())
    assert 400_000 < xmin < xmax < 460_000 and 2_450_000 < ymin < ymax < 2_500_000
    one = _ogrinfo(
        "-ro", "-al", "-q", "-where", f"{'MA_VUNG' if fmt == 'shp' else 'code'} = '{code}'", source
    )
    ring = re.search(r"POLYGON \(\(\(?([^()]+)\)", one).group(1)
    x, y = map(float, ring.split(",")[0].split())
    shift = "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
    zone = pyproj.CRS.from_proj4(
        f"+proj=tmerc +lon_0=104.75 +k=0.9999 +x_0=500000 +ellps=WGS84 {shift} +units=m"
    )
    back = pyproj.Transformer.from_crs(zone, 4326, always_xy=True).transform(x, y)
    stored = shapely.from_wkt(wkt)
    corner = min(stored.exterior.coords if stored.geom_type == "Polygon" else
                 stored.geoms[0].exterior.coords, key=lambda c: (c[0] - back[0]) ** 2 + (c[1] - back[1]) ** 2)  # fmt: skip
    assert abs(corner[0] - back[0]) < 1e-7 and abs(corner[1] - back[1]) < 1e-7  # about 1 cm
    # The names of the commune, the village and the province are in every record.
    name_fields = ("TEN_XA", "TEN_THON", "TEN_TINH") if fmt == "shp" else (
        "commune_name", "village_name", "province_name")  # fmt: skip
    assert f"{name_fields[0]} (String) = Gia Phú" in one
    assert f"{name_fields[2]} (String) = Lào Cai" in one
    assert re.search(rf"{name_fields[1]} \(String\) = \S", one), one


def test_wgs84_stays_the_default_and_names_the_units(live_server: str, tmp_path: Path) -> None:
    path = _download(live_server, tmp_path, EXPORT, f="geojson", commune_code="02923")
    body = json.loads(path.read_text(encoding="utf-8"))
    props = body["features"][0]["properties"]
    assert (props["commune_name"], props["province_name"]) == ("Gia Phú", "Lào Cai")
    assert props["village_code"].startswith("02923-") and props["village_name"]
    gpkg = _download(live_server, tmp_path, EXPORT, f="gpkg", commune_code="02923")
    assert "vn2000" not in gpkg.name
    assert 'ID["EPSG",4326]' in _ogrinfo("-ro", "-al", "-so", str(gpkg))


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"f": "geojson", "crs": "vn2000"}, "chỉ ghi được tọa độ WGS84"),
        ({"f": "kml", "crs": "EPSG:9208"}, "chỉ ghi được tọa độ WGS84"),
        ({"f": "gpkg", "crs": "EPSG:3857"}, "chỉ xuất WGS84 hoặc VN-2000"),
        ({"f": "gpkg", "crs": "EPSG:6958"}, "đã bị loại bỏ"),
        ({"f": "shp", "crs": "hệ lạ"}, "Không hiểu hệ tọa độ"),
    ],
)
def test_a_crs_that_cannot_be_written_is_refused_in_vietnamese(
    live_server: str, params: dict, words: str
) -> None:
    r = httpx.get(live_server + EXPORT, params={"commune_code": "02923", **params})
    assert r.status_code == 400, r.text
    body = r.json()
    assert words in body["description"] and body["description_en"]
    assert "crs=" in body["description"] or "EPSG:" in body["description"]  # how to fix it


def test_a_named_zone_is_written_as_given(live_server: str, tmp_path: Path) -> None:
    path = _download(live_server, tmp_path, EXPORT, f="shp", crs="VN2000:105", commune_code="02923")
    with zipfile.ZipFile(path) as z:
        prj = next(z.read(n).decode() for n in z.namelist() if n.endswith(".prj"))
    assert "105" in prj and "0.9999" in prj
    assert 'ID["EPSG",5897]' in _ogrinfo("-ro", "-al", "-so", f"/vsizip/{path}")


def test_anonymous_exports_carry_public_fields_only(
    live_server: str, demo_url: str, tmp_path: Path
) -> None:
    """A note and a person's name given at registration never leave in an export."""
    name = f"exp-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="officer",
        password="mật-khẩu-xuất-0001", communes=["02923"], by="tests",
    )  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t", by="tests")
    with psycopg.connect(demo_url) as conn:
        square = conn.execute(
            """
            WITH c AS (SELECT geom FROM commune WHERE code = '02923'),
            grid AS (SELECT ST_MakeEnvelope(x, y, x + 0.0006, y + 0.0006, 4326) AS g FROM c,
                generate_series(ST_XMin(c.geom)::numeric, ST_XMax(c.geom)::numeric, 0.0025) x,
                generate_series(ST_YMin(c.geom)::numeric, ST_YMax(c.geom)::numeric, 0.0025) y)
            SELECT ST_AsGeoJSON(g, 7) FROM grid, c WHERE ST_Within(ST_Buffer(g, 0.0003), c.geom)
              AND NOT EXISTS (SELECT 1 FROM growing_area a WHERE ST_DWithin(a.geom, g, 0.0003))
            ORDER BY random() LIMIT 1
            """
        ).fetchone()[0]
    feature = {"type": "Feature", "geometry": json.loads(square), "properties": {
        "crop": "Chè", "owner": "Nguyễn Văn Bí Mật", "note": "Ghi chú nội bộ XYZ"}}  # fmt: skip
    r = httpx.post(f"{live_server}/collections/growing_areas/items", json=feature,
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    for fmt in ("geojson", "gpkg", "shp", "kml"):
        path = _download(live_server, tmp_path, f"/collections/growing_areas/items/{fid}/export",
                         f=fmt)  # fmt: skip
        raw = path.read_bytes()
        if fmt == "shp":
            with zipfile.ZipFile(path) as z:
                raw = b"".join(z.read(n) for n in z.namelist())
        for secret in ("Nguyễn Văn Bí Mật", "Ghi chú nội bộ XYZ", name):
            assert secret.encode() not in raw, (fmt, secret)
        assert "Gia Phú".encode() in raw, fmt  # the commune's name is there
    got = shape(json.loads(_download(
        live_server, tmp_path, f"/collections/growing_areas/items/{fid}/export", f="geojson"
    ).read_text())["features"][0]["geometry"])  # fmt: skip
    assert got.area > 0


def test_one_area_in_vn2000_as_the_dossier_button_downloads_it(
    live_server: str, demo_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(demo_url) as conn:
        fid, code = conn.execute(
            "SELECT id, code FROM growing_area WHERE commune_code = '02923' ORDER BY id LIMIT 1"
        ).fetchone()
    path = _download(live_server, tmp_path, f"/collections/growing_areas/items/{fid}/export",
                     f="gpkg", crs="vn2000")  # fmt: skip
    assert path.name.endswith("-vn2000-9208.gpkg")
    info = _ogrinfo("-ro", "-al", str(path))
    assert 'ID["EPSG",9208]' in info and "Feature Count: 1" in info
    assert f"code (String) = {code}" in info and "commune_name (String) = Gia Phú" in info
