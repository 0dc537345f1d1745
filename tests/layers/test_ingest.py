"""Import: VN-2000 accuracy, legacy encodings, and bad inputs that leave the database unchanged."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Polygon

from geo.errors import AgriMapError, CRSError, EncodingError, InvalidInput
from geo.textenc import encode_legacy
from layers.ingest import ImportRefused, import_file

from ..conftest import DEMO_DIR, table_counts

# The official VN-2000 -> WGS84 shift (Decision 05/2007/QĐ-BTNMT, EPSG:6960), written out here
# independently of geo/crs.py so that the test checks the importer against the definition.
TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"
VN2000_TM3_10445 = CRS.from_proj4(
    f"+proj=tmerc +lat_0=0 +lon_0=104.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84={TOWGS84} +units=m"
)
KNOWN_POINTS_WGS84 = [  # lon, lat in and around Gia Phú (Lào Cai)
    (104.0612, 22.3531),
    (104.0821, 22.3702),
    (104.0700, 22.3800),
    (104.1003, 22.3405),
]
GEOD = Geod(ellps="WGS84")


def _write_vn2000_csv(path: Path) -> None:
    to_vn = Transformer.from_crs("EPSG:4326", VN2000_TM3_10445, always_xy=True)
    lines = ["ma_ho,ten_chu_ho,x,y"]
    for i, (lon, lat) in enumerate(KNOWN_POINTS_WGS84, start=1):
        x, y = to_vn.transform(lon, lat)
        lines.append(f"H{i:03d},Nguyễn Văn {i},{x:.3f},{y:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_vn2000_points_land_within_one_metre(conn: psycopg.Connection, tmp_path: Path) -> None:
    _load_admin(conn, tmp_path)  # a household is placed in the village holding it
    src = tmp_path / "ho_vn2000.csv"
    _write_vn2000_csv(src)
    summary = import_file(conn, src, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    assert summary.imported == len(KNOWN_POINTS_WGS84)
    rows = conn.execute(
        "SELECT code, ST_X(geom), ST_Y(geom) FROM household ORDER BY code"
    ).fetchall()
    for (code, lon, lat), (exp_lon, exp_lat) in zip(rows, KNOWN_POINTS_WGS84, strict=True):
        _, _, dist = GEOD.inv(lon, lat, exp_lon, exp_lat)
        assert dist < 1.0, f"{code} is {dist:.3f} m from its WGS84 position"


def test_tm_prj_without_datum_is_recognised_as_vn2000(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    """The demo growing areas carry a bare Transverse_Mercator .prj: they must land in Gia Phú."""
    _load_admin(conn, tmp_path)
    summary = import_file(
        conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path
    )
    assert summary.imported > 50
    assert "9208" in summary.crs_label or "104" in summary.crs_label
    outside = conn.execute(
        "SELECT count(*) FROM growing_area g WHERE NOT EXISTS "
        "(SELECT 1 FROM commune c WHERE ST_Intersects(c.geom, ST_PointOnSurface(g.geom)))"
    ).fetchone()[0]
    assert outside == 0


def _load_admin(conn: psycopg.Connection, tmp_path: Path) -> None:
    import_file(conn, DEMO_DIR / "ranh_gioi_xa.shp", layer="communes", data_dir=tmp_path)
    import_file(conn, DEMO_DIR / "thon.shp", layer="villages", data_dir=tmp_path)


NAMES = ["Bảo Thắng", "Gia Phú", "Thôn Cóc", "Nguyễn Văn Ước", "Hợp tác xã Phú Hải", "Làng Chưng"]


def _legacy_shapefile(
    path: Path, names: list[str], encoding: str | None, raw: list[bytes] | None = None
) -> None:
    values = raw if raw is not None else [encode_legacy(n, encoding) for n in names]  # type: ignore[arg-type]
    gdf = gpd.GeoDataFrame(
        {
            "MA_XA": ["02734"] * len(values),
            "MA_THON": [f"T{i:02d}" for i in range(len(values))],
            "TEN_THON": [v.decode("latin-1") for v in values],
        },
        geometry=[
            Polygon(
                [(104.05 + i * 0.01, 22.35), (104.06 + i * 0.01, 22.35), (104.06 + i * 0.01, 22.36)]
            )
            for i in range(len(values))
        ],
        crs=4326,
    )
    gdf.to_file(path, encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)  # legacy files carry no .cpg


def _commune_row(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO province (code, name) VALUES ('10', 'Lào Cai')")
    conn.execute(
        "INSERT INTO commune (code, name, province_code) VALUES ('02734', 'Gia Phú', '10')"
    )
    conn.commit()


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258"])
def test_legacy_encoding_is_detected_and_stored_as_unicode(
    conn: psycopg.Connection, tmp_path: Path, encoding: str
) -> None:
    _commune_row(conn)
    names = [n for n in NAMES if encoding != "tcvn3" or n != "Nguyễn Văn Ước"]
    src = tmp_path / f"thon_{encoding}.shp"
    _legacy_shapefile(src, names, encoding)
    summary = import_file(conn, src, layer="villages", data_dir=tmp_path)
    assert summary.encoding == encoding
    stored = [r[0] for r in conn.execute("SELECT name FROM village ORDER BY code")]
    assert stored == names


def test_demo_tcvn3_villages_decode_like_iconv(conn: psycopg.Connection, tmp_path: Path) -> None:
    """The demo's thon.shp is TCVN3 without .cpg; glibc iconv is the independent reference."""
    import subprocess

    import pyogrio

    _load_admin(conn, tmp_path)
    raw = pyogrio.read_dataframe(DEMO_DIR / "thon.shp", encoding="latin1")["TEN_THON"]
    expected = [
        subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=v.encode("latin-1"),
                       capture_output=True, check=True).stdout.decode()
        for v in raw
    ]  # fmt: skip
    stored = {r[0] for r in conn.execute("SELECT name FROM village")}
    assert stored == set(expected)
    assert any(ch in "".join(stored) for ch in "ăâêôơưđ")


# --- bad inputs: each refused with a clear message, the database unchanged -----------------


def _no_crs_metres(tmp: Path) -> Path:
    p = tmp / "no_crs.csv"
    p.write_text("ma_ho,x,y\nH1,447000.5,2474000.2\nH2,447100.0,2474100.0\n", encoding="utf-8")
    return p


def _bowtie(tmp: Path) -> Path:
    p = tmp / "bowtie.geojson"
    ring = [[104.05, 22.35], [104.06, 22.36], [104.06, 22.35], [104.05, 22.36], [104.05, 22.35]]
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nha_mang": "Viettel", "cong_nghe": "4G"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))  # fmt: skip
    return p


def _empty(tmp: Path) -> Path:
    p = tmp / "empty.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}')
    return p


def _truncated_zip(tmp: Path) -> Path:
    full = tmp / "vung_trong.zip"
    with zipfile.ZipFile(full, "w") as zf:
        for part in DEMO_DIR.glob("vung_trong.*"):
            zf.write(part, part.name)
    data = full.read_bytes()
    cut = tmp / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def _unknown_encoding(tmp: Path) -> Path:
    p = tmp / "koi8.shp"
    _legacy_shapefile(
        p, [], None, raw=["Привет мир".encode("koi8-r"), "Новая деревня".encode("koi8-r")]
    )
    return p


BAD_INPUTS = [
    ("no CRS, metre coordinates", _no_crs_metres, "households", CRSError, "--crs"),
    ("self-intersecting polygon", _bowtie, "coverage", ImportRefused, "104.05"),
    ("empty file", _empty, "coverage", InvalidInput, "không có đối tượng"),
    ("truncated zip", _truncated_zip, "growing_areas", InvalidInput, "hỏng"),
    ("unknown encoding", _unknown_encoding, "villages", EncodingError, "--encoding"),
]


@pytest.mark.parametrize(
    ("what", "make", "layer", "error", "says"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_refused_and_changes_nothing(
    conn: psycopg.Connection, tmp_path: Path, what: str, make, layer: str, error: type, says: str
) -> None:
    _commune_row(conn)
    before = table_counts(conn)
    with pytest.raises(error) as info:
        import_file(conn, make(tmp_path), layer=layer, data_dir=tmp_path)
    text = info.value.message("vi") + " ".join(info.value.details)
    assert says in text, text
    assert info.value.hint_vi or info.value.details, "the message must say how to fix it"
    conn.rollback()
    assert table_counts(conn) == before


def test_wrong_layer_is_refused_with_the_list(conn: psycopg.Connection, tmp_path: Path) -> None:
    before = table_counts(conn)
    with pytest.raises(InvalidInput) as info:
        import_file(conn, _empty(tmp_path), layer="farms", data_dir=tmp_path)
    assert "growing_areas" in info.value.hint_vi and "farms" in info.value.vi
    assert table_counts(conn) == before


def test_failure_in_the_database_rolls_back_the_whole_file(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    """A clash found only inside the transaction (code already stored) leaves nothing behind."""
    _load_admin(conn, tmp_path)
    import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    before = table_counts(conn)
    with pytest.raises(AgriMapError) as info:
        import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    assert "Đã có" in info.value.vi
    conn.rollback()
    assert table_counts(conn) == before


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    src = tmp_path / "mixed.geojson"
    good = [[104.05, 22.35], [104.06, 22.35], [104.06, 22.36], [104.05, 22.36], [104.05, 22.35]]
    bad = [[104.05, 22.35], [104.06, 22.36], [104.06, 22.35], [104.05, 22.36], [104.05, 22.35]]
    feats = [
        {"type": "Feature", "properties": {"nha_mang": "VNPT", "cong_nghe": "cáp quang"}, "geometry": {"type": "Polygon", "coordinates": [good]}},
        {"type": "Feature", "properties": {"nha_mang": "VNPT", "cong_nghe": "4G"}, "geometry": {"type": "Polygon", "coordinates": [bad]}},
    ]  # fmt: skip
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    summary = import_file(conn, src, layer="coverage", skip_invalid=True, data_dir=tmp_path)
    assert summary.imported == 1 and [r for r, _ in summary.rejected] == [2]
    assert conn.execute("SELECT technology FROM coverage").fetchall() == [("fibre",)]


def test_kmz_and_kml_coverage_import(conn: psycopg.Connection, tmp_path: Path) -> None:
    kml = DEMO_DIR / "phu_song_viettel.kml"
    kmz = tmp_path / "phu_song_viettel.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.write(kml, "doc.kml")
    first = import_file(conn, kml, layer="coverage", data_dir=tmp_path)
    second = import_file(conn, kmz, layer="coverage", data_dir=tmp_path)
    assert first.imported == second.imported > 0
    ops = {r[0] for r in conn.execute("SELECT DISTINCT operator FROM coverage")}
    assert ops == {"Viettel"}


def test_personal_owner_is_kept_apart_from_cooperative(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _load_admin(conn, tmp_path)
    import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    coops = [
        r[0]
        for r in conn.execute("SELECT cooperative FROM growing_area WHERE cooperative IS NOT NULL")
    ]
    assert coops and all(
        c.upper().startswith(("HTX", "HỢP TÁC", "CÔNG TY", "TỔ HỢP TÁC", "THT")) for c in coops
    )


def test_history_records_each_version(conn: psycopg.Connection, tmp_path: Path) -> None:
    _load_admin(conn, tmp_path)
    import_file(
        conn,
        DEMO_DIR / "vung_trong.shp",
        layer="growing_areas",
        user="officer:a",
        data_dir=tmp_path,
    )
    gid = conn.execute("SELECT id FROM growing_area ORDER BY id LIMIT 1").fetchone()[0]
    conn.execute(
        "SELECT set_config('agrimap.system', 'on', true), set_config('agrimap.user', 'cli:b', true)"
    )
    conn.execute("UPDATE growing_area SET status = 'suspended' WHERE id = %s", (gid,))
    conn.commit()
    rows = conn.execute(
        "SELECT version, operation, record->>'status', changed_by FROM growing_area_history "
        "WHERE growing_area_id = %s ORDER BY version",
        (gid,),
    ).fetchall()
    # A status change is named as the action it is, whichever client wrote it (issue 14).
    assert [(v, op) for v, op, _, _ in rows] == [(1, "insert"), (2, "suspend")]
    assert rows[0][3] == "officer:a" and rows[1][2] == "suspended" and rows[1][3] == "cli:b"


def test_point_outside_vietnam_is_refused(conn: psycopg.Connection, tmp_path: Path) -> None:
    src = tmp_path / "paris.csv"
    src.write_text("ma_ho,lon,lat\nH1,2.35,48.85\n")
    with pytest.raises(CRSError) as info:
        import_file(conn, src, layer="households", data_dir=tmp_path)
    assert "Việt Nam" in info.value.message("vi") or "Vietnam" in info.value.message("en")
    assert table_counts(conn)["household"] == 0


def test_household_far_outside_its_named_village_is_refused(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _load_admin(conn, tmp_path)
    lines = (DEMO_DIR / "ho_gia_dinh.csv").read_text(encoding="utf-8-sig").splitlines()
    first = lines[1].split(",")
    assert first[3] == "02923-01"
    first[3] = "02923-14"  # the file names another village than where the point lies
    bad = tmp_path / "ho_sai_thon.csv"
    bad.write_text("\n".join([lines[0], ",".join(first), *lines[2:40]]), encoding="utf-8")
    before = table_counts(conn)
    with pytest.raises(ImportRefused) as err:
        import_file(conn, bad, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    assert err.value.summary.rejected[0][0] == 1
    assert "outside the village given in the file" in err.value.details[0]
    assert "ngoài thôn ghi trong tệp" in err.value.details[0] and "02923-14" in err.value.details[0]
    conn.rollback()
    assert table_counts(conn) == before
    # Without a village code the village is taken from the location.
    first[3] = ""
    good = tmp_path / "ho_khong_thon.csv"
    good.write_text("\n".join([lines[0], ",".join(first)]), encoding="utf-8")
    import_file(conn, good, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    assert conn.execute("SELECT village_code FROM household").fetchone()[0] == "02923-01"


def test_a_cell_over_the_text_limit_is_a_row_refusal(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    """A survey table's cell of 2,001 characters (MAX_TEXT_CHARS is 2,000) is refused with its
    row; the 2,000-character one beside it would be stored whole, so nothing is cut."""
    src = tmp_path / "vung_phu.geojson"
    ring = [[104.05, 22.35], [104.06, 22.35], [104.06, 22.36], [104.05, 22.36], [104.05, 22.35]]
    feats = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
              "properties": {"nha_mang": "VNPT", "cong_nghe": "4G", "nguon": note}}
             for note in ("x" * 2_000, "x" * 2_001)]  # fmt: skip
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    before = table_counts(conn)
    with pytest.raises(ImportRefused) as err:
        import_file(conn, src, layer="coverage", data_dir=tmp_path)
    assert [r for r, _ in err.value.summary.rejected] == [2]
    assert "2001 ký tự" in err.value.summary.rejected[0][1]
    assert table_counts(conn) == before
