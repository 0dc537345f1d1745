"""Imports of the files communes really have (issue 15): no commune column, legacy encodings,
VN-2000 zones, X/Y in survey order, Excel; column mapping, place from location, modes, and the
registry's checks on growing areas. Positions are checked against an independent VN-2000
definition (tests/layers/test_ingest.py), names against glibc iconv."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import psycopg
import pyogrio
import pytest
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import Polygon, box

from geo.errors import Conflict, InvalidInput
from geo.textenc import encode_legacy
from layers.ingest import ImportRefused, import_file

from ..conftest import DEMO_DIR, table_counts
from .test_ingest import GEOD, VN2000_TM3_10445

TO_WGS84 = Transformer.from_crs(VN2000_TM3_10445, "EPSG:4326", always_xy=True)
TO_VN2000 = Transformer.from_crs("EPSG:4326", VN2000_TM3_10445, always_xy=True)


def _iconv_tcvn3(raw: str) -> str:
    return subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=raw.encode("latin-1"),
        capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip


def _load_commune(conn: psycopg.Connection, tmp: Path) -> None:
    import_file(conn, DEMO_DIR / "ranh_gioi_xa.shp", layer="communes", data_dir=tmp)


def _load_admin(conn: psycopg.Connection, tmp: Path) -> None:
    _load_commune(conn, tmp)
    import_file(conn, DEMO_DIR / "thon.shp", layer="villages", data_dir=tmp)


def _province_village_file(tmp: Path) -> tuple[Path, gpd.GeoDataFrame]:
    """The demo villages as a province ships them: TCVN3 names, no .cpg, EPSG:9208 metres,
    codes numbered inside the commune (01 … 14) and no commune column."""
    src = pyogrio.read_dataframe(DEMO_DIR / "thon.shp", encoding="latin1")
    out = gpd.GeoDataFrame(
        {"MA_THON": [c.split("-")[1] for c in src["MA_THON"]], "TEN_THON": src["TEN_THON"]},
        geometry=src.geometry, crs=src.crs,
    )  # fmt: skip
    path = tmp / "thon_tinh.shp"
    out.to_file(path, encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path, src


def _max_vertex_error_m(stored_wkt: str, source: Polygon) -> float:
    """Largest distance (m) from a source vertex (VN-2000 metres) to the stored polygon's
    nearest vertex (WGS84), with the source moved by the independent VN-2000 definition."""
    stored = shapely.get_coordinates(shapely.from_wkt(stored_wkt))
    worst = 0.0
    for x, y in shapely.get_coordinates(source):
        lon, lat = TO_WGS84.transform(x, y)
        near = min(GEOD.inv(lon, lat, sx, sy)[2] for sx, sy in stored)
        worst = max(worst, near)
    return worst


def test_village_file_without_commune_lands_in_its_commune(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _load_commune(conn, tmp_path)
    path, src = _province_village_file(tmp_path)
    summary = import_file(conn, path, layer="villages", data_dir=tmp_path)
    assert summary.imported == 14 and summary.encoding == "tcvn3"
    assert summary.columns == {"code": "MA_THON", "name": "TEN_THON"}
    assert "placed" in summary.place_note
    assert any("14" in w and "02923-01" in w for w in summary.warnings), summary.warnings
    rows = conn.execute(
        "SELECT code, name, commune_code, ST_AsText(geom) FROM village ORDER BY code"
    ).fetchall()
    assert [r[0] for r in rows] == [f"02923-{i:02d}" for i in range(1, 15)]  # scoped codes
    assert {r[2] for r in rows} == {"02923"}
    expected = {f"02923-{c.split('-')[1]}": _iconv_tcvn3(n) for c, n in zip(src["MA_THON"], src["TEN_THON"], strict=True)}  # fmt: skip
    assert {r[0]: r[1] for r in rows} == expected
    for (code, _, _, wkt), geom in zip(rows, src.geometry, strict=True):
        assert _max_vertex_error_m(wkt, geom) < 1.0, code

    # The same file again: refused by default, and no mode adds anything.
    before = table_counts(conn)
    with pytest.raises(Conflict) as info:
        import_file(conn, path, layer="villages", data_dir=tmp_path)
    assert "Đã có" in info.value.vi and "--mode upsert" in info.value.hint_vi
    conn.rollback()
    again = import_file(conn, path, layer="villages", data_dir=tmp_path, mode="upsert")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 14)
    append = import_file(conn, path, layer="villages", data_dir=tmp_path, mode="append")
    assert (append.imported, append.unchanged) == (0, 14)
    assert {k: v for k, v in table_counts(conn).items() if k != "import_batch"} == {
        k: v for k, v in before.items() if k != "import_batch"
    }


def _other_commune(conn: psycopg.Connection) -> None:
    """A second commune east of Gia Phú with one village, both squares."""
    square = "SRID=4326;MULTIPOLYGON(((104.13 22.34,104.16 22.34,104.16 22.37,104.13 22.37,104.13 22.34)))"
    conn.execute(
        "INSERT INTO province (code, name) VALUES ('15', 'Lào Cai') ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO commune (code, name, province_code, geom) "
        "VALUES ('02926', 'Xã Thử', '15', %s)",
        (square,),
    )
    conn.execute(
        "INSERT INTO village (code, name, commune_code, geom) "
        "VALUES ('02926-01', 'Thôn Một', '02926', %s)",
        (square,),
    )
    conn.commit()


HOUSEHOLDS_WGS84 = [  # (code, head name, lon, lat): four in Gia Phú, one in the other commune
    ("H001", "Nguyễn Văn Ước", 104.0612, 22.3531),
    ("H002", "Trần Thị Hằng", 104.0821, 22.3702),
    ("H003", "Lê Đức Thắng", 104.0700, 22.3800),
    ("H004", "Phạm Minh Phúc", 104.1003, 22.3405),
    ("H001", "Vũ Quốc Việt", 104.1450, 22.3550),
]


def _survey_csv(path: Path, encoding: str) -> None:
    """VN-2000 metres with X = northing, Y = easting (survey order), legacy-encoded names, no
    village column, ';' separated as Excel in Vietnamese locale writes."""
    lines = [b"ma_ho;ten_chu_ho;X;Y"]
    for code, name, lon, lat in HOUSEHOLDS_WGS84:
        e, n = TO_VN2000.transform(lon, lat)
        lines.append(
            f"{code};".encode() + encode_legacy(name, encoding) + f";{n:.3f};{e:.3f}".encode()
        )
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")


def _check_households(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT h.code, h.head_name, h.commune_code, h.village_code, ST_X(h.geom), ST_Y(h.geom), "
        "(SELECT v.code FROM village v WHERE ST_Covers(v.geom, h.geom)) FROM household h ORDER BY h.id"
    ).fetchall()
    assert len(rows) == len(HOUSEHOLDS_WGS84)
    for (code, name, commune, village, lon, lat, holding), exp in zip(
        rows, HOUSEHOLDS_WGS84, strict=True
    ):
        assert (code, name) == exp[:2]
        assert commune == ("02926" if exp[2] > 104.12 else "02923")
        assert village == holding and village.startswith(commune + "-")
        assert GEOD.inv(lon, lat, exp[2], exp[3])[2] < 1.0


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_survey_csv_with_x_northing_is_read_and_placed(
    conn: psycopg.Connection, tmp_path: Path, encoding: str
) -> None:
    _load_admin(conn, tmp_path)
    _other_commune(conn)
    src = tmp_path / f"ho_{encoding}.csv"
    _survey_csv(src, encoding)
    summary = import_file(conn, src, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    assert summary.imported == 5 and summary.encoding == encoding
    assert "X = northing" in summary.coordinates_note
    _check_households(conn)  # H001 twice: once per commune
    with pytest.raises(Conflict):
        import_file(conn, src, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    conn.rollback()
    again = import_file(
        conn, src, layer="households", crs="EPSG:9208", data_dir=tmp_path, mode="upsert"
    )
    assert (again.imported, again.updated) == (0, 0)
    assert conn.execute("SELECT count(*) FROM household").fetchone()[0] == 5


def test_excel_with_lon_lat_is_read(conn: psycopg.Connection, tmp_path: Path) -> None:
    _load_admin(conn, tmp_path)
    _other_commune(conn)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã hộ", "Tên chủ hộ", "Kinh độ", "Vĩ độ"])
    for code, name, lon, lat in HOUSEHOLDS_WGS84:
        ws.append([code, name, lon, lat])
    src = tmp_path / "ho_gia_dinh.xlsx"
    wb.save(src)
    summary = import_file(conn, src, layer="households", data_dir=tmp_path)
    assert summary.imported == 5 and summary.columns["code"] == "Mã hộ"
    _check_households(conn)


def test_mixed_axis_order_is_refused(conn: psycopg.Connection, tmp_path: Path) -> None:
    src = tmp_path / "lan.csv"
    src.write_text("ma_ho,x,y\nH1,430469.7,2476503.9\nH2,2476613.8,430673.7\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        import_file(conn, src, layer="households", crs="EPSG:9208", data_dir=tmp_path)
    assert (
        "dòng 1" in info.value.vi and "dòng 2" in info.value.vi and "kinh_do" in info.value.hint_vi
    )


def test_column_mapping_and_commune_for_the_whole_file(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _load_commune(conn, tmp_path)
    inside = box(104.07, 22.36, 104.075, 22.365)
    outside = box(104.20, 22.36, 104.205, 22.365)
    gdf = gpd.GeoDataFrame(
        {"KY_HIEU": ["A", "B"], "DIA_DANH": ["Thôn Mới", "Thôn Xa"]},
        geometry=[inside, outside], crs=4326,
    )  # fmt: skip
    src = tmp_path / "thon_moi.geojson"
    gdf.to_file(src, driver="GeoJSON")
    with pytest.raises(InvalidInput) as info:
        import_file(conn, src, layer="villages", data_dir=tmp_path)
    assert "--map" in info.value.hint_vi
    with pytest.raises(ImportRefused) as refused:
        import_file(
            conn, src, layer="villages", data_dir=tmp_path, commune="02923",
            mapping={"code": "KY_HIEU", "name": "DIA_DANH"},
        )  # fmt: skip
    ((row, reason),) = refused.value.summary.rejected
    # 8 km away: said in km, in the Vietnamese number format
    assert row == 2 and "ngoài xã" in reason and re.search(r"cách \d+,\d km / ", reason)
    conn.rollback()
    summary = import_file(
        conn, src, layer="villages", data_dir=tmp_path, commune="02923", skip_invalid=True,
        mapping={"code": "KY_HIEU", "name": "DIA_DANH"},
    )  # fmt: skip
    assert summary.columns == {"code": "KY_HIEU", "name": "DIA_DANH"}
    assert summary.mapped == {"code": "KY_HIEU", "name": "DIA_DANH"}
    assert conn.execute("SELECT code, name, commune_code FROM village").fetchall() == [
        ("02923-A", "Thôn Mới", "02923")
    ]


# --- growing areas: the registry's checks ---------------------------------------------------


def _square_9208(lon: float, lat: float, side: float = 40.0) -> Polygon:
    e, n = TO_VN2000.transform(lon, lat)
    return box(e - side / 2, n - side / 2, e + side / 2, n + side / 2)


def _free_spots(conn: psycopg.Connection, n: int) -> list[tuple[float, float]]:
    """Points in Gia Phú at least 60 m from every growing area (houses: none touches one)."""
    return conn.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_GeneratePoints(c.geom, 400, 7) g FROM commune c) s, "
        "LATERAL (SELECT (ST_Dump(g)).geom p) d "
        "WHERE NOT EXISTS (SELECT 1 FROM growing_area a WHERE ST_DWithin(a.geom::geography, p::geography, 60)) "
        "AND ST_DWithin(ST_Boundary((SELECT geom FROM commune))::geography, p::geography, 100) = false "
        "LIMIT %s",
        (n,),
    ).fetchall()


def test_growing_areas_get_the_registry_checks(conn: psycopg.Connection, tmp_path: Path) -> None:
    _load_admin(conn, tmp_path)
    import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    stored = conn.execute(
        "SELECT code, ST_AsText(geom) FROM growing_area WHERE status = 'active' ORDER BY code LIMIT 1"
    ).fetchone()
    in_metres = shapely.transform(
        shapely.from_wkt(stored[1]).geoms[0],
        lambda xy: np.column_stack(TO_VN2000.transform(xy[:, 0], xy[:, 1])),
    )
    neighbour = shapely.affinity.translate(in_metres, 8, 8)
    (lon1, lat1), (lon2, lat2) = _free_spots(conn, 2)
    gdf = gpd.GeoDataFrame(
        {
            "MA_VUNG": ["VN-10-086-02923-77-24", "VN-10-086-02923-78-24",
                        "VN-51-522-21214-13-24", "VN-15-02923-50-26"],
            "CAY_TRONG": ["Lúa", "Chè", "Lúa", "Quế"],
        },
        geometry=[neighbour, _square_9208(104.21, 22.36), _square_9208(lon1, lat1),
                  _square_9208(lon2, lat2)],
        crs="EPSG:9208",
    )  # fmt: skip
    src = tmp_path / "vung_moi.gpkg"
    gdf.to_file(src, driver="GPKG")
    before = table_counts(conn)
    with pytest.raises(ImportRefused) as info:
        import_file(conn, src, layer="growing_areas", data_dir=tmp_path)
    conn.rollback()
    assert table_counts(conn) == before  # no row written
    reasons = dict(info.value.summary.rejected)
    assert sorted(reasons) == [1, 2, 3], reasons
    assert "chồng lấn" in reasons[1] and stored[0] in reasons[1]
    assert "ngoài mọi xã" in reasons[2] and "Gia Phú" in reasons[2]
    assert "21214" in reasons[3] and "Tịnh Long" in reasons[3] and "02923" in reasons[3]
    assert all(f"dòng/row {r}" in " ".join(info.value.details) for r in (1, 2, 3))

    summary = import_file(conn, src, layer="growing_areas", data_dir=tmp_path, skip_invalid=True)
    assert summary.imported == 1
    assert conn.execute(
        "SELECT commune_code FROM growing_area WHERE code = 'VN-15-02923-50-26'"
    ).fetchone() == ("02923",)


def test_upsert_is_versioned_and_audited_and_replace_removes(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _load_admin(conn, tmp_path)
    import_file(conn, DEMO_DIR / "vung_trong.shp", layer="growing_areas", data_dir=tmp_path)
    src = pyogrio.read_dataframe(DEMO_DIR / "vung_trong.shp")
    code = src.loc[0, "MA_VUNG"]
    src.loc[0, "CAY_TRONG"] = "Cà phê"
    changed = tmp_path / "vung_sua.gpkg"
    src.to_file(changed, driver="GPKG")
    audit_sql = (
        "SELECT count(*) FROM audit_log WHERE action = 'update' AND object_type = 'growing_area'"
    )
    audited_before = conn.execute(audit_sql).fetchone()[0]  # the audit log is never emptied
    summary = import_file(
        conn, changed, layer="growing_areas", data_dir=tmp_path, mode="upsert", user="cli:test"
    )
    assert (summary.imported, summary.updated, summary.unchanged) == (0, 1, 119)
    assert conn.execute(
        "SELECT crop, version FROM growing_area WHERE code = %s", (code,)
    ).fetchone() == ("Cà phê", 2)
    history = conn.execute(
        "SELECT h.operation, h.changed_by FROM growing_area_history h JOIN growing_area a "
        "ON a.id = h.growing_area_id WHERE a.code = %s ORDER BY h.version",
        (code,),
    ).fetchall()
    assert history[-1] == ("update", "cli:test")
    assert conn.execute(audit_sql).fetchone()[0] == audited_before + 1

    fewer = tmp_path / "vung_bot.gpkg"
    src.iloc[1:].to_file(fewer, driver="GPKG")
    summary = import_file(conn, fewer, layer="growing_areas", data_dir=tmp_path, mode="replace")
    assert (summary.imported, summary.removed) == (0, 1)
    assert conn.execute("SELECT count(*) FROM growing_area").fetchone()[0] == 119


# --- the CLI: mapping, commune, dry run, history and undo -------------------------------------


def test_cli_import_dry_run_history_and_undo(
    conn: psycopg.Connection, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agrimap.cli import app

    _load_commune(conn, tmp_path)
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    path, _ = _province_village_file(tmp_path)
    renamed = gpd.read_file(path, encoding="latin1").rename(columns={"MA_THON": "SO_HIEU"})
    odd = tmp_path / "thon_so_hieu.shp"
    renamed.to_file(odd, encoding="latin1")
    odd.with_suffix(".cpg").unlink(missing_ok=True)
    runner = CliRunner()
    args = [
        "import",
        str(odd),
        "--layer",
        "villages",
        "--map",
        "code=SO_HIEU",
        "--commune",
        "02923",
    ]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "code ← SO_HIEU (--map)" in dry.output and "không ghi gì" in dry.output
    assert conn.execute("SELECT count(*) FROM village").fetchone()[0] == 0
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (
        conn.execute("SELECT count(*) FROM village WHERE commune_code = '02923'").fetchone()[0]
        == 14
    )
    again = runner.invoke(app, args)
    assert again.exit_code != 0 and "--mode upsert" in " ".join(again.output.split())
    listed = runner.invoke(app, ["imports", "list", "--layer", "villages"])
    assert listed.exit_code == 0 and "thon_" in listed.output and "14" in listed.output
    from layers.ingest.history import list_imports

    (latest,) = list_imports(conn, layer="villages", limit=1)
    assert (latest["source_name"], latest["features_imported"]) == ("thon_so_hieu.shp", 14)
    assert latest["imported_by"].startswith("cli:") and latest["commune_code"] == "02923"
    batch = latest["id"]
    conn.commit()

    # A household in one of the villages keeps the import from being undone.
    conn.execute(
        "SELECT set_config('agrimap.system', 'on', true), set_config('agrimap.user', 'test', true)"
    )
    conn.execute(
        "INSERT INTO household (code, label, village_code, province_code, geom) "
        "SELECT 'H1', 'H1', code, commune_province(commune_code), "
        "ST_PointOnSurface(geom) FROM village WHERE code = '02923-01'"
    )
    conn.commit()
    refused = runner.invoke(app, ["imports", "undo", str(batch)])
    assert refused.exit_code != 0 and "hộ gia đình" in refused.output
    conn.execute("SELECT set_config('agrimap.system', 'on', true)")
    conn.execute("DELETE FROM household")
    conn.commit()
    undone = runner.invoke(app, ["imports", "undo", str(batch)])
    assert undone.exit_code == 0 and "14" in undone.output, undone.output
    assert conn.execute("SELECT count(*) FROM village").fetchone()[0] == 0
    assert (
        conn.execute("SELECT undone_by FROM import_batch WHERE id = %s", (batch,))
        .fetchone()[0]
        .startswith("cli:")
    )
    twice = runner.invoke(app, ["imports", "undo", str(batch)])
    assert twice.exit_code != 0 and "đã được hoàn tác" in twice.output


def test_the_placing_grid_gives_the_per_row_answer(
    conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file's households are placed through a grid over the villages
    (place_village_grid.sql); row by row, the same village, the same refusals (outside every
    village, on the line two villages share) as the exact per-row probes."""
    from layers.ingest import checks

    _load_admin(conn, tmp_path)
    points = conn.execute(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM village v, ST_Dump(ST_GeneratePoints(v.geom, 40, 3)) p"
    ).fetchall()
    # Vertices of one village that another covers: exactly on the line between them.
    points += conn.execute(
        "SELECT ST_X(d.geom), ST_Y(d.geom) FROM village a, village b, ST_DumpPoints(a.geom) d "
        "WHERE a.code < b.code AND ST_Covers(b.geom, d.geom) LIMIT 5"
    ).fetchall()
    points += [(103.5, 22.0), (104.05, 22.38)]  # far away, and maybe just outside
    src = tmp_path / "ho_luoi.csv"
    src.write_text(
        "ma_ho,lon,lat\n" + "".join(f"G{i},{x!r},{y!r}\n" for i, (x, y) in enumerate(points))
    )
    answers = []
    ran: list[str] = []
    statements = checks._statements
    monkeypatch.setattr(checks, "_statements", lambda name: ran.append(name) or statements(name))
    for grid_from in (1, 10**9):
        monkeypatch.setattr(checks, "GRID_FROM", grid_from)
        summary = import_file(conn, src, layer="households", data_dir=tmp_path, skip_invalid=True)
        rows = conn.execute(
            "SELECT code, village_code, commune_code FROM household ORDER BY code"
        ).fetchall()
        answers.append((rows, summary.rejected))
        conn.execute("SELECT set_config('agrimap.system', 'on', false)")
        conn.execute("DELETE FROM household")
        conn.commit()
    assert ran.count("place_village_grid.sql") == 1  # the first round only
    (grid_rows, grid_refused), (exact_rows, exact_refused) = answers
    assert grid_rows == exact_rows and grid_refused == exact_refused
    assert len(grid_rows) >= 14 * 40 and any("ranh giới giữa" in r for _, r in grid_refused)
    assert any("nằm ngoài mọi thôn" in r for _, r in grid_refused)
