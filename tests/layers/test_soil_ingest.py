"""Soil inputs: a GeoTIFF in VN-2000 TM-3 lands within one cell once stored as a WGS84 COG
with overviews, catalogued with property, unit, depth, source and date, and graded into zones;
sample tables (CSV with survey X/Y, Excel) become rasters with method and reliability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import CRS, Geod
from rasterio.transform import from_origin
from rio_cogeo.cogeo import cog_validate

from geo.crs import transformer_to_wgs84
from geo.errors import InvalidInput
from layers.ingest import import_file

CELL_M = 30.0
GEOD = Geod(ellps="WGS84")


def _tm3_raster(path, epsg: int, lon: float, lat: float) -> tuple[float, float]:
    """A 600 × 500 raster of OM in g/kg around (lon, lat), one marker cell of 90 g/kg; returns
    the marker cell's centre in WGS84, through the official VN-2000 shift."""
    tr = transformer_to_wgs84(CRS.from_epsg(epsg))
    x, y = tr.transform(lon, lat, direction="INVERSE")
    x0, y1 = (
        math.floor(x / CELL_M) * CELL_M - 300 * CELL_M,
        math.floor(y / CELL_M) * CELL_M + 250 * CELL_M,
    )
    rows, cols = np.mgrid[0:500, 0:600]
    values = (25 + 10 * np.sin(cols / 40) * np.cos(rows / 55)).astype("float32")
    values[:5, :5] = -9999  # a nodata corner
    values[237, 311] = 90.0  # the marker: the only "rất giàu" (> 6 %) cell
    with rasterio.open(path, "w", driver="GTiff", width=600, height=500, count=1, dtype="float32",
                       crs=f"EPSG:{epsg}", transform=from_origin(x0, y1, CELL_M, CELL_M),
                       nodata=-9999) as dst:  # fmt: skip
        dst.write(values, 1)
        dst.update_tags(property="om", unit="g/kg", depth_cm="0-30", source="Sở NN&MT, 2024",
                        surveyed_on="15/03/2024")  # fmt: skip
    centre = (x0 + (311 + 0.5) * CELL_M, y1 - (237 + 0.5) * CELL_M)
    return tr.transform(*centre)


@pytest.mark.parametrize(
    ("epsg", "lon", "lat"),
    [(9208, 104.07, 22.37), (5898, 108.80, 15.12), (5897, 105.80, 21.02)],
    ids=["Lào Cai 104°45′", "Quảng Ngãi 108°", "Hà Nội 105°"],
)
def test_a_vn2000_tm3_raster_lands_within_one_cell(conn, tmp_path, epsg, lon, lat) -> None:
    src = tmp_path / f"om_{epsg}.tif"
    true_lon, true_lat = _tm3_raster(src, epsg, lon, lat)
    summary = import_file(conn, src, layer="soil_rasters", user="test", data_dir=tmp_path / "data")
    assert summary.imported == 1 and str(epsg) in summary.crs_label
    row = conn.execute(
        "SELECT path, property, unit, source_unit, depth_cm, source, surveyed_on, method, cell_m, "
        "(SELECT count(*) FROM soil_zone z WHERE z.raster_id = r.id) FROM soil_raster r"
    ).fetchone()
    path, prop, unit, source_unit, depth, source, surveyed, method, cell_m, zones = row
    assert (prop, unit, source_unit, depth, source) == ("om", "%", "g/kg", "0-30", "Sở NN&MT, 2024")
    assert surveyed.isoformat() == "2024-03-15" and method == "imported"
    assert cell_m == pytest.approx(CELL_M, rel=0.05) and zones > 0
    valid, errors, _ = cog_validate(path, quiet=True)
    assert valid and not errors
    with rasterio.open(path) as cog:
        assert cog.crs.to_epsg() == 4326 and cog.overviews(1)
        band = cog.read(1, masked=True)
        assert float(band.max()) == pytest.approx(9.0)  # 90 g/kg × 0.1 = 9 %
        assert float(band.min()) == pytest.approx(1.5, abs=0.01)
        rows, cols = np.nonzero(band.filled(0) > 8.9)
        got_lon, got_lat = cog.xy(rows.mean(), cols.mean())
    _, _, metres = GEOD.inv(true_lon, true_lat, got_lon, got_lat)
    assert metres < CELL_M, metres  # within one cell (a missed datum shift is ~200 m)
    rich = conn.execute(
        "SELECT count(*) FROM soil_zone WHERE grade = 'rất giàu' AND ST_Intersects(geom, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (true_lon, true_lat),
    ).fetchone()[0]
    assert rich == 0  # one cell is sieved into its neighbours (zones have a minimum area)


def _samples(n: int, seed: int) -> pd.DataFrame:
    """Survey table in VN-2000 TM-3 104°45′: X is the northing, Y the easting."""
    rng = np.random.default_rng(seed)
    tr = transformer_to_wgs84(CRS.from_epsg(9208))
    e0, n0 = tr.transform(104.07, 22.37, direction="INVERSE")
    east, north = rng.uniform(e0 - 2000, e0 + 2000, n), rng.uniform(n0 - 2000, n0 + 2000, n)
    ph = 4.6 + (east - e0) / 4000 + rng.normal(0, 0.05, n)
    om = 2.5 + (north - n0) / 2000 + rng.normal(0, 0.1, n)
    return pd.DataFrame({
        "so_hieu_mau": [f"M{i}" for i in range(n)], "X": north.round(1), "Y": east.round(1),
        "tang_dat": "0-20", "pH_KCl": ph.round(2), "OM (%)": om.round(2),
        "K2O_dt (mg/100g)": np.full(n, 12.0),
    })  # fmt: skip


def test_a_csv_of_samples_becomes_kriged_rasters_with_reliability(conn, tmp_path) -> None:
    path = tmp_path / "mau_dat.csv"
    _samples(80, 1).to_csv(path, index=False)
    summary = import_file(conn, path, layer="soil_samples", crs="EPSG:9208", user="test",
                          data_dir=tmp_path / "data")  # fmt: skip
    assert summary.imported == 3 and any("northing" in w for w in summary.warnings)
    rows = conn.execute(
        "SELECT property, unit, depth_cm, method, bands, params, reliability FROM soil_raster "
        "ORDER BY property"
    ).fetchall()
    assert [r[0] for r in rows] == ["k2o_available", "om", "ph_kcl"]
    for _prop, unit, depth, method, bands, params, rel in rows:
        assert depth == "0-20" and method == "ordinary_kriging" and bands == 2
        assert params["samples"] == 80 and params["cell_m"] == 20
        assert params["variogram"]["range_m"] <= params["survey_extent_m"] + 1e-6
        assert rel["method"] == "leave-one-out" and rel["n"] == 80 and rel["unit"] == unit
    ph = dict((r[0], r[6]) for r in rows)["ph_kcl"]
    assert 0 < ph["rmse"] < 0.2 and abs(ph["bias"]) < 0.05  # a smooth trend plus 0.05 noise


def test_an_excel_sheet_of_few_samples_becomes_an_idw_raster(conn, tmp_path) -> None:
    path = tmp_path / "mau.xlsx"
    _samples(20, 2).drop(columns=["K2O_dt (mg/100g)", "OM (%)"]).to_excel(path, index=False)
    summary = import_file(conn, path, layer="soil_samples", crs="EPSG:9208", user="test",
                          data_dir=tmp_path / "data")  # fmt: skip
    assert summary.imported == 1
    method, params, rel = conn.execute(
        "SELECT method, params, reliability FROM soil_raster"
    ).fetchone()
    assert method == "idw" and params["power"] == 2.0 and params["neighbours"] == 12
    assert rel["n"] == 20 and rel["rmse"] > 0


def test_a_sample_table_without_property_columns_is_refused_in_vietnamese(conn, tmp_path) -> None:
    path = tmp_path / "mau.csv"
    _samples(10, 3)[["so_hieu_mau", "X", "Y"]].assign(mau_sac="nâu").to_csv(path, index=False)
    with pytest.raises(InvalidInput) as err:
        import_file(conn, path, layer="soil_samples", crs="EPSG:9208", user="t", data_dir=tmp_path)
    assert err.value.vi.startswith("Bảng mẫu mau.csv không có cột chỉ tiêu đất")
    assert "ph_kcl" in err.value.hint_vi
    assert conn.execute("SELECT count(*) FROM soil_raster").fetchone()[0] == 0


def test_a_raster_in_a_unit_without_table_or_conversion_is_refused(conn, tmp_path) -> None:
    src = tmp_path / "om_bad.tif"
    _tm3_raster(src, 9208, 104.07, 22.37)
    with rasterio.open(src, "r+") as dst:
        dst.update_tags(unit="kg/ha")
    with pytest.raises(InvalidInput) as err:
        import_file(conn, src, layer="soil_rasters", user="t", data_dir=tmp_path / "data")
    assert "kg/ha" in err.value.vi and "%" in err.value.hint_vi
    assert conn.execute("SELECT count(*) FROM soil_raster").fetchone()[0] == 0


def test_regrading_follows_an_edited_class_table(conn, tmp_path) -> None:
    import copy
    import json
    from importlib.resources import files

    from geo.soil import soil_config
    from layers.ingest.rasters import regrade_all

    src = tmp_path / "om_regrade.tif"
    _tm3_raster(src, 9208, 104.07, 22.37)
    import_file(conn, src, layer="soil_rasters", user="test", data_dir=tmp_path / "data")
    before = dict(conn.execute("SELECT grade, count(*) FROM soil_zone GROUP BY grade").fetchall())
    data = json.loads((files("layers") / "soil_classes.json").read_text(encoding="utf-8"))
    edited = copy.deepcopy(data)
    om = next(t for t in edited["tables"] if t["property"] == "om")
    for c in om["classes"]:
        c["grade"] = c["grade"].upper()
    edited["advice"] = [a for a in edited["advice"] if a["property"] != "om"]
    counts = regrade_all(conn, config=soil_config(edited))
    after = dict(conn.execute("SELECT grade, count(*) FROM soil_zone GROUP BY grade").fetchall())
    assert sum(counts.values()) == sum(after.values())
    assert {g.upper() for g in before} == set(after)
