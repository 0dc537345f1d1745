"""Dossier exports: GDAL reads every format, Vietnamese text and geometry survive, EUDR rules hold."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import psycopg
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, shape

from geo.crs import recognise_vn2000, transformer_to_wgs84
from geo.errors import GeometryError, InvalidInput, UnsupportedFormat
from geo.eudr import MESSAGES
from geo.exports import ExportFeature, ExportFile, validate_eudr
from layers.growing_areas import EXPORT_FIELDS as FIELDS
from layers.growing_areas import export_areas as export
from layers.ingest import import_file

from ..conftest import DEMO_DIR

TITLE = "Vùng trồng xã Gia Phú – hồ sơ 2025"
# Around Gia Phú (Lào Cai); vertices with many decimals, as digitised boundaries have.
SMALL = Polygon([(104.0612345, 22.3531234), (104.0623456, 22.3530987), (104.0624012, 22.3540123),
                 (104.0611987, 22.3541456)])  # fmt: skip  # about 1.2 ha
LARGE_WITH_POND = Polygon(
    [(104.0701234, 22.3601234), (104.0742345, 22.3600987), (104.0743456, 22.3642345),
     (104.0700987, 22.3643456)],
    [[(104.0711111, 22.3611111), (104.0722222, 22.3611111), (104.0722222, 22.3622222),
      (104.0711111, 22.3622222)]],
)  # fmt: skip  # about 19 ha with a 1.3 ha pond
TWO_PARTS = MultiPolygon([
    Polygon([(104.0801234, 22.3701234), (104.0811234, 22.3701234), (104.0811234, 22.3711234),
             (104.0801234, 22.3711234)]),
    Polygon([(104.0821234, 22.3701234), (104.0831234, 22.3701234), (104.0831234, 22.3711234),
             (104.0821234, 22.3711234)]),
])  # fmt: skip
FEATURES = [
    ExportFeature(
        {"code": "VN-10-086-02923-07-24", "crop": "Cà phê", "area_ha": 1.2345,
         "cooperative": "HTX Nông nghiệp Gia Phú", "member_households": 12, "status": "active",
         "issued_on": dt.date(2024, 3, 15), "commune_code": "02923", "version": 1,
         "owner_name": "Nguyễn Văn Ước"},
        SMALL,
    ),
    ExportFeature(
        {"code": "VN-10-086-02923-08-24", "crop": "Chè Shan tuyết", "area_ha": 17.5,
         "cooperative": None, "member_households": 3, "status": "suspended", "issued_on": None,
         "commune_code": "02923", "version": 2},
        LARGE_WITH_POND,
    ),
    ExportFeature(
        {"code": "VN-10-086-02923-09-25", "crop": "Cà phê", "area_ha": 2.06,
         "cooperative": "HTX Nông nghiệp Gia Phú", "member_households": 5, "status": "revoked",
         "issued_on": "2025-01-02", "commune_code": "02923", "version": 1},
        TWO_PARTS,
    ),
]  # fmt: skip
CODES = [f.properties["code"] for f in FEATURES]
# Per format: the columns holding code, crop and cooperative when read back.
COLUMNS = {
    "geojson": ("code", "crop", "cooperative"),
    "gpkg": ("code", "crop", "cooperative"),
    "shp": ("MA_VUNG", "CAY_TRONG", "HTX"),
    "kml": ("Name", "Cây trồng", "Tổ chức đại diện (HTX)"),
}
TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)  # UTM 48N


def _write(tmp_path: Path, file: ExportFile) -> Path:
    path = tmp_path / file.filename
    path.write_bytes(file.content)
    return path


def _saved(tmp_path: Path, fmt: str, **kw) -> Path:
    return _write(tmp_path, export(FEATURES, fmt, title=TITLE, **kw))


def _gdal_path(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix == ".zip" else str(path)


def _ogrinfo(*args: str) -> str:
    exe = shutil.which("ogrinfo")
    assert exe, "ogrinfo is missing: ./run.sh test installs Debian's gdal-bin"
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _decimals_written(raw: bytes) -> set[int]:
    """How many decimals the coordinates of a GeoJSON text are written with."""
    arrays = re.findall(rb'"coordinates": (\[[-0-9., \[\]]*\])', raw)
    numbers = [n for a in arrays for n in re.findall(rb"-?\d+(?:\.\d+)?", a)]
    return {len(n.partition(b".")[2]) for n in numbers}


def _distance_m(a, b) -> float:
    """Hausdorff distance between two lon/lat geometries, in metres (UTM 48N)."""
    return shapely.transform(a, TO_METRES.transform, interleaved=False).hausdorff_distance(
        shapely.transform(b, TO_METRES.transform, interleaved=False)
    )


# --- every GDAL-written and hand-written format -----------------------------------------------


@pytest.mark.gdal
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml"])
def test_ogrinfo_reads_the_export(tmp_path: Path, fmt: str) -> None:
    out = _ogrinfo("-ro", "-al", "-so", _gdal_path(_saved(tmp_path, fmt)))
    assert re.search(r"Feature Count: 3\b", out), out
    assert "4326" in out or "WGS 84" in out


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml"])
def test_vietnamese_text_and_geometry_survive(tmp_path: Path, fmt: str) -> None:
    frame = pyogrio.read_dataframe(_gdal_path(_saved(tmp_path, fmt)))
    code, crop, coop = COLUMNS[fmt]
    assert list(frame[code]) == CODES
    assert list(frame[crop]) == ["Cà phê", "Chè Shan tuyết", "Cà phê"]
    assert frame[coop][0] == frame[coop][2] == "HTX Nông nghiệp Gia Phú"
    assert frame.crs.to_epsg() == 4326
    for feature, geom in zip(FEATURES, frame.geometry, strict=True):
        assert _distance_m(feature.geometry, shapely.force_2d(geom)) < 0.01  # 1 cm


def test_only_the_listed_columns_leave_the_server(tmp_path: Path) -> None:
    text = _saved(tmp_path, "geojson").read_text(encoding="utf-8")
    assert "Nguyễn Văn Ước" not in text and "owner_name" not in text
    props = json.loads(text)["features"][0]["properties"]
    assert list(props) == [f.key for f in FIELDS]
    assert props["producer_country"] == "VN" and props["issued_on"] == "2024-03-15"


def test_geojson_is_rfc7946_with_eight_decimals(tmp_path: Path) -> None:
    raw = _saved(tmp_path, "geojson").read_bytes()
    assert "Chè Shan tuyết".encode() in raw  # UTF-8, not \u escapes
    doc = json.loads(raw)
    assert "crs" not in doc and doc["name"] == TITLE
    assert _decimals_written(raw) == {8}
    pond = shape(doc["features"][1]["geometry"])
    assert pond.exterior.is_ccw and not pond.interiors[0].is_ccw  # right-hand rule


def test_shapefile_zip_declares_utf8_and_keeps_dates(tmp_path: Path) -> None:
    path = _saved(tmp_path, "shp")
    with zipfile.ZipFile(path) as archive:
        names = sorted(Path(n).suffix for n in archive.namelist())
        cpg = archive.read(next(n for n in archive.namelist() if n.endswith(".cpg")))
    assert names == [".cpg", ".dbf", ".prj", ".shp", ".shx"]
    assert cpg.strip() == b"UTF-8"
    info = pyogrio.read_info(_gdal_path(path))
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert list(types) == [f.dbf for f in FIELDS] and all(len(n) <= 10 for n in types)
    assert types["NGAY_CAP"] == "OFTDate" and types["SO_HO"] == "OFTInteger"
    dates = pyogrio.read_dataframe(_gdal_path(path))["NGAY_CAP"]
    assert dates[0].date() == dt.date(2024, 3, 15) and dates.isna()[1]


def test_geopackage_types_and_title(tmp_path: Path) -> None:
    info = pyogrio.read_info(_saved(tmp_path, "gpkg"))
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["issued_on"] == "OFTDate" and types["area_ha"] == "OFTReal"
    assert info["crs"] == "EPSG:4326" and info["features"] == 3


def test_kml_names_codes_and_labels_in_vietnamese(tmp_path: Path) -> None:
    root = ET.fromstring(_saved(tmp_path, "kml").read_bytes())
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert root.find("k:Document/k:name", ns).text == TITLE
    assert [p.find("k:name", ns).text for p in root.iterfind(".//k:Placemark", ns)] == CODES
    fields = [f.get("name") for f in root.iterfind(".//k:Schema/k:SimpleField", ns)]
    assert fields == [f.label_vi for f in FIELDS]
    data = {
        d.get("name"): d.text
        for d in root.find(".//k:Placemark", ns).iterfind(".//k:SimpleData", ns)
    }
    assert data["Trạng thái"] == "Còn hiệu lực" and data["Ngày cấp"] == "15/03/2024"


def test_export_refuses_what_it_cannot_write() -> None:
    with pytest.raises(UnsupportedFormat):
        export(FEATURES, "dxf", title=TITLE)
    with pytest.raises(InvalidInput):
        export([], "geojson", title=TITLE)
    with pytest.raises(GeometryError):
        export([ExportFeature({"code": "VN-1"}, Polygon())], "gpkg", title=TITLE)


# --- EUDR ---------------------------------------------------------------------------------


def test_eudr_export_passes_the_checker_with_polygons(tmp_path: Path) -> None:
    raw = _saved(tmp_path, "eudr").read_bytes()
    assert validate_eudr(raw) == []
    doc = json.loads(raw)
    places = [f["properties"]["ProductionPlace"] for f in doc["features"]]
    # The pond is cut open: two hole-free plots that share the declared area.
    assert places == [CODES[0], f"{CODES[1]} (1/2)", f"{CODES[1]} (2/2)", CODES[2]]
    kinds = [f["geometry"]["type"] for f in doc["features"]]
    assert kinds == ["Polygon", "Polygon", "Polygon", "MultiPolygon"]
    pieces = [shape(f["geometry"]) for f in doc["features"][1:3]]
    assert _distance_m(shapely.union_all(pieces), LARGE_WITH_POND) < 0.1
    assert abs(shapely.union_all(pieces).area - LARGE_WITH_POND.area) < 1e-9
    assert sum(f["properties"]["Area"] for f in doc["features"][1:3]) == pytest.approx(17.5)
    first = doc["features"][0]["properties"]
    assert first == {"ProducerName": "HTX Nông nghiệp Gia Phú", "ProducerCountry": "VN",
                     "ProductionPlace": CODES[0], "Area": 1.2345}  # fmt: skip
    assert _decimals_written(raw) == {6}


def test_eudr_points_for_small_plots_only(tmp_path: Path) -> None:
    raw = _saved(tmp_path, "eudr", points_for_small=True).read_bytes()
    assert validate_eudr(raw) == []
    features = json.loads(raw)["features"]
    kinds = [f["geometry"]["type"] for f in features]
    assert kinds == ["Point", "Polygon", "Polygon", "MultiPoint"]
    assert SMALL.contains(shape(features[0]["geometry"]))  # on the plot, not a centroid off it
    for part, point in zip(TWO_PARTS.geoms, shape(features[3]["geometry"]).geoms, strict=True):
        assert part.contains(point)  # each parcel of the area keeps its own point


def test_demo_growing_areas_export_in_every_format(tmp_path: Path) -> None:
    """All 120 demo areas (VN-2000 shapefile, bare TM .prj) go through every format."""
    frame = pyogrio.read_dataframe(DEMO_DIR / "vung_trong.shp")
    to_wgs84 = transformer_to_wgs84(recognise_vn2000(frame.crs))
    geoms = shapely.transform(frame.geometry.values, to_wgs84.transform, interleaved=False)
    features = [
        ExportFeature({"code": r.MA_VUNG, "crop": r.CAY_TRONG, "area_ha": r.DIEN_TICH,
                       "cooperative": r.CHU_SO_HUU, "status": "active", "issued_on": r.NGAY_CAP}, g)
        for r, g in zip(frame.itertuples(), geoms, strict=True)
    ]  # fmt: skip
    for fmt in ("geojson", "gpkg", "shp", "kml"):
        path = _write(tmp_path, export(features, fmt, title=TITLE))
        assert pyogrio.read_info(_gdal_path(path))["features"] == len(frame)
    for small in (False, True):
        assert (
            validate_eudr(export(features, "eudr", title=TITLE, points_for_small=small).content)
            == []
        )


def test_exported_shapefile_imports_again_unchanged(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    import_file(conn, DEMO_DIR / "ranh_gioi_xa.shp", layer="communes", data_dir=tmp_path)
    import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    query = (
        "SELECT code, crop, area_ha::float8, cooperative, member_households, status, issued_on,"
        " commune_code, ST_AsBinary(geom) FROM growing_area ORDER BY code"
    )
    before = conn.execute(query).fetchall()
    features = [
        ExportFeature(dict(zip(("code", "crop", "area_ha", "cooperative", "member_households",
                                "status", "issued_on", "commune_code"), row[:8], strict=True)),
                      shapely.from_wkb(row[8]))
        for row in before
    ]  # fmt: skip
    with zipfile.ZipFile(_write(tmp_path, export(features, "shp", title=TITLE))) as archive:
        archive.extractall(tmp_path / "shp")
    conn.execute("TRUNCATE growing_area_history, growing_area RESTART IDENTITY CASCADE")
    conn.commit()
    (shp,) = (tmp_path / "shp").glob("*.shp")
    summary = import_file(conn, shp, layer="growing_areas", data_dir=tmp_path)
    after = conn.execute(query).fetchall()
    assert summary.imported == len(before) > 50
    assert [r[:8] for r in after] == [r[:8] for r in before]
    for a, b in zip(after, before, strict=True):
        assert _distance_m(shapely.from_wkb(a[8]), shapely.from_wkb(b[8])) < 0.01


# --- the EUDR checker: each rule has an example that breaks it ---------------------------------

RING = [[104.0612345, 22.3531234], [104.0623456, 22.3530987], [104.0624012, 22.3540123],
        [104.0611987, 22.3541456], [104.0612345, 22.3531234]]  # fmt: skip
PROPS = {"ProducerName": "HTX Nông nghiệp Gia Phú", "ProducerCountry": "VN",
         "ProductionPlace": "VN-10-086-02923-07-24", "Area": 1.2345}  # fmt: skip


def _doc(geometry: dict, **props) -> dict:
    feature = {"type": "Feature", "properties": {**PROPS, **props}, "geometry": geometry}
    return {"type": "FeatureCollection", "features": [feature]}


def _polygon(*rings) -> dict:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


SQUARE_FAR = [[104.1012345, 22.3531234], [104.1023456, 22.3531234], [104.1023456, 22.3541234],
              [104.1012345, 22.3541234], [104.1012345, 22.3531234]]  # fmt: skip
POND = [[104.0615, 22.3534123], [104.0617123, 22.3534123], [104.0617123, 22.3536123],
        [104.0615, 22.3534123]]  # fmt: skip
BROKEN: dict[str, object] = {
    "document": {"type": "Feature", "features": []},
    "feature": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]},
    "crs": {**_doc(_polygon(RING)), "crs": {"type": "name", "properties": {"name": "EPSG:3405"}}},
    "geometry-type": _doc({"type": "LineString", "coordinates": RING}),
    "position": _doc({"type": "Point", "coordinates": [104.0612345]}),
    "range": _doc({"type": "Point", "coordinates": [22.3531234, 104.0612345 + 100]}),
    "decimals": _doc({"type": "Point", "coordinates": [104.05, 22.3531234]}),
    "ring-short": _doc(_polygon(RING[:2] + RING[-1:])),
    "ring-open": _doc(_polygon(RING[:-1])),
    "hole": _doc(_polygon(RING, POND)),
    "duplicate-vertex": _doc(_polygon(RING[:2] + RING[1:])),
    "invalid-polygon": _doc(_polygon([RING[0], RING[2], RING[1], RING[3], RING[0]])),  # bow tie
    "collinear": _doc(_polygon([[104.1000001, 22.1000001], [104.1000002, 22.1000002],
                                [104.1000003, 22.1000003], [104.1000001, 22.1000001]])),
    "multi-size": _doc({"type": "MultiPolygon", "coordinates": [[RING]]}),
    "multipoint-duplicate": _doc({"type": "MultiPoint", "coordinates": [RING[0], RING[0]]}),
    "nested-collection": _doc({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": RING[0]},
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": RING[1]},
                                                      {"type": "Point", "coordinates": RING[2]}]}]}),
    "point-over-4ha": _doc({"type": "Point", "coordinates": RING[0]}, Area=5.5),
    "property-missing": _doc(_polygon(RING), ProducerName=" "),
    "producer-country": _doc(_polygon(RING), ProducerCountry="VNM"),
    "area": _doc(_polygon(RING), Area="1,5 ha"),
}  # fmt: skip


def test_the_checker_accepts_well_formed_plots() -> None:
    assert validate_eudr(_doc(_polygon(RING))) == []
    assert (
        validate_eudr(_doc({"type": "MultiPolygon", "coordinates": [[RING], [SQUARE_FAR]]})) == []
    )
    assert validate_eudr(_doc({"type": "Point", "coordinates": RING[0]}, Area=4.0)) == []
    assert validate_eudr(_doc({"type": "MultiPoint", "coordinates": RING[:2]})) == []


def test_every_rule_has_an_example() -> None:
    assert set(BROKEN) == set(MESSAGES)


@pytest.mark.parametrize("rule", list(BROKEN))
def test_each_rule_has_a_failing_example(rule: str) -> None:
    problems = validate_eudr(BROKEN[rule], lang="en")
    assert any(p.endswith(f"[{rule}]") for p in problems), problems


def test_overlapping_multipolygon_parts_are_invalid() -> None:
    shifted = [[x + 0.0003, y] for x, y in RING]
    problems = validate_eudr(_doc({"type": "MultiPolygon", "coordinates": [[RING], [shifted]]}))
    assert any(p.endswith("[invalid-polygon]") for p in problems), problems


def test_every_problem_is_reported_in_vietnamese_by_default() -> None:
    doc = _doc(_polygon(RING[:-1]), ProducerCountry="Việt Nam", Area=None)
    problems = validate_eudr(doc)
    rules = {re.search(r"\[([a-z0-9-]+)\]$", p).group(1) for p in problems}
    assert rules >= {"ring-open", "producer-country", "property-missing"}
    assert any("không khép kín" in p for p in problems)
    assert validate_eudr(b"{not json")[0].endswith("[document]")


def test_written_trailing_zeros_count_only_when_the_text_is_given() -> None:
    text = json.dumps(_doc({"type": "Point", "coordinates": [0, 0]})).replace(
        "[0, 0]", "[104.050000, 22.300000]"
    )
    assert validate_eudr(text) == []
    assert validate_eudr(json.loads(text))[0].endswith("[decimals]")  # floats forget the zeros
