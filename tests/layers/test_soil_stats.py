"""Zonal statistics against an independent computation (shapely cell-by-cell intersection
areas) on a small hand-made raster, with fields smaller than a cell; the point query against
values read directly with rasterio."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from layers.soil import SoilRaster, load_config, point_values, zonal_summaries

CONFIG = load_config()
OM = CONFIG.table("om", "%")
CELL = 0.001
WEST, NORTH = 104.0, 22.4
NODATA = -9999.0
VALUES = np.array(
    [[0.5, 1.5, 2.5, 3.5],
     [4.5, 5.5, 6.5, 1.0],
     [2.2, 4.3, 6.0, NODATA],
     [1.2, 2.8, 3.9, 5.1]], dtype="float32",
)  # fmt: skip


def _raster(tmp_path) -> SoilRaster:
    path = tmp_path / "om.tif"
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": from_origin(WEST, NORTH, CELL, CELL),
               "nodata": NODATA}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(VALUES, 1)
    return SoilRaster(1, "om", "%", "0-20", str(path), "test", None, "imported", {}, {}, 100.0,
                      1, None)  # fmt: skip


def _cell(row: int, col: int) -> shapely.Polygon:
    x0, y1 = WEST + col * CELL, NORTH - row * CELL
    return shapely.box(x0, y1 - CELL, x0 + CELL, y1)


def _independent(field: shapely.Geometry) -> dict:
    """Coverage weights from exact intersection areas, one cell at a time."""
    weights, values = [], []
    for row in range(4):
        for col in range(4):
            w = _cell(row, col).intersection(field).area / CELL**2
            if w > 0 and VALUES[row, col] != NODATA:
                weights.append(w)
                values.append(float(VALUES[row, col]))
    if not weights:
        return {"mean": None}
    w, v = np.array(weights), np.array(values)
    shares = {c.grade: 0.0 for c in OM.classes}
    for wi, vi in zip(w, v, strict=True):
        shares[OM.grade(vi)] += wi / w.sum()
    return {"mean": float((w * v).sum() / w.sum()), "min": v.min(), "max": v.max(),
            "shares": shares, "covered": float(w.sum() * CELL**2 / field.area)}  # fmt: skip


def _at(col: float, row: float) -> tuple[float, float]:
    return WEST + col * CELL, NORTH - row * CELL


FIELDS = {
    # Far smaller than a cell (0.2 × 0.3 of one), inside cell (1, 1): that cell's value only.
    "tiny inside one cell": shapely.box(*_at(1.3, 1.6), *_at(1.5, 1.3)),
    # Smaller than a cell but across the corner of four cells, unequal parts.
    "tiny across four cells": shapely.box(*_at(1.8, 2.1), *_at(2.1, 1.7)),
    # A sliver 0.7 / 0.3 across two cells.
    "sliver across two cells": shapely.box(*_at(0.3, 0.6), *_at(1.3, 0.4)),
    "triangle": shapely.Polygon([_at(0.2, 3.8), _at(3.7, 3.9), _at(1.5, 0.3)]),
    "partly outside the raster": shapely.box(*_at(3.5, 1.5), *_at(4.5, 0.5)),
    "touching nodata": shapely.box(*_at(2.5, 2.8), *_at(3.5, 2.2)),
    "only nodata": shapely.box(*_at(3.2, 2.8), *_at(3.8, 2.2)),
    "two tiny parts": shapely.MultiPolygon([shapely.box(*_at(0.1, 0.9), *_at(0.2, 0.8)),
                                            shapely.box(*_at(2.4, 3.6), *_at(2.8, 3.2))]),
    "with a hole": shapely.box(*_at(0.5, 2.5), *_at(2.5, 0.5)).difference(
        shapely.box(*_at(1.2, 1.8), *_at(1.8, 1.2))),
}  # fmt: skip


def test_zonal_statistics_match_an_independent_computation(tmp_path) -> None:
    raster = _raster(tmp_path)
    names = list(FIELDS)
    got = zonal_summaries(raster, [FIELDS[n] for n in names], config=CONFIG)
    for name, summary in zip(names, got, strict=True):
        want = _independent(FIELDS[name])
        if want["mean"] is None:
            assert summary["mean"] is None and summary["covered"] == 0.0, name
            continue
        # Coordinates near 104° E hold cell corners to ~1e-14°: fractions agree to ~1e-8.
        assert summary["mean"] == pytest.approx(want["mean"], rel=1e-6), name
        assert summary["min"] == pytest.approx(want["min"]) and summary["max"] == pytest.approx(
            want["max"]
        ), name
        shares = {g["grade"]: g["share"] for g in summary["grades"]}
        assert shares == pytest.approx(want["shares"], abs=1e-6), name
        assert summary["covered"] == pytest.approx(want["covered"], rel=1e-6), name
        assert summary["grade"] == OM.grade(want["mean"])
        assert summary["mean_text"].endswith(" %")
    tiny = got[0]
    assert tiny["mean"] == pytest.approx(5.5) and tiny["grade"] == "giàu"
    assert {g["grade"]: g["share"] for g in tiny["grades"]}["giàu"] == pytest.approx(1.0)


def test_zonal_statistics_reproject_fields_for_a_raster_in_metres(tmp_path) -> None:
    """A raster kept in VN-2000 TM-3 (an older import) still gets WGS84 fields right."""
    from pyproj import CRS

    from geo.crs import transformer_to_wgs84

    path = tmp_path / "om_tm3.tif"
    x0, y1 = 430_000.0, 2_475_000.0
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:9208", transform=from_origin(x0, y1, 100, 100),
                       nodata=NODATA) as dst:  # fmt: skip
        dst.write(VALUES, 1)
    raster = SoilRaster(
        2, "om", "%", None, str(path), "t", None, "imported", {}, {}, 100.0, 1, None
    )
    tr = transformer_to_wgs84(CRS.from_epsg(9208))
    # A 20 × 20 m field in the middle of cell (1, 1), given in WGS84.
    ring = [(x0 + 140, y1 - 140), (x0 + 160, y1 - 140), (x0 + 160, y1 - 160), (x0 + 140, y1 - 160)]
    field = shapely.Polygon([tr.transform(x, y) for x, y in ring])
    (summary,) = zonal_summaries(raster, [field], config=CONFIG)
    assert summary["mean"] == pytest.approx(5.5) and summary["grade"] == "giàu"


def test_point_values_match_rasterio_reads(demo_url) -> None:
    import asyncio

    from layers.soil import current_rasters

    async def rasters():
        async with await psycopg.AsyncConnection.connect(demo_url) as conn:
            return await current_rasters(conn)

    found = asyncio.run(rasters())
    assert {r.property for r in found} >= {"om", "ph_kcl", "n", "p2o5_available", "k2o_available"}
    rng = np.random.default_rng(16)
    checked = 0
    for r in found:
        with rasterio.open(r.path) as src:
            west, south, east, north = src.bounds
            band = src.read(1, masked=True)
            for lon, lat in zip(
                rng.uniform(west, east, 25), rng.uniform(south, north, 25), strict=True
            ):
                row, col = src.index(lon, lat)
                direct = None if band.mask[row, col] else float(band[row, col])
                (got,) = point_values([r], lon=lon, lat=lat, config=CONFIG)
                assert got["value"] == direct
                assert got["grade"] == (
                    None if direct is None else CONFIG.table(r.property, r.unit).grade(direct)
                )
                checked += direct is not None
    assert checked > 50
    (outside,) = point_values([found[0]], lon=105.5, lat=21.0, config=CONFIG)
    assert outside["value"] is None and outside["value_text"] == "—"
