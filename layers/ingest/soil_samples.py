"""Soil samples (mẫu đất) to rasters: read lab values with units and depth, interpolate each
property onto the commune at 20 m (IDW, or ordinary kriging when there are enough samples),
record method, parameters and leave-one-out reliability, and catalogue the result."""

from __future__ import annotations

import math
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from geo.errors import InvalidInput
from geo.readers import read_table, reproject
from geo.soil import SoilConfig, property_key, unit_key
from geo.soil_interp import (
    OrdinaryKriging,
    cross_validation,
    fit_variogram,
    idw,
    idw_loo,
    survey_extent,
)
from geo.values import fold

from ..soil import load_config
from .rasters import METRES_PER_DEGREE, catalogue_raster
from .result import ImportSummary
from .text import decode_text
from .write import import_transaction, record_batch

_HEADER = re.compile(r"^\s*(?P<name>[^(\[]+?)\s*(?:[(\[](?P<unit>[^)\]]+)[)\]])?\s*$")
DEPTH_NAMES = ("depth_cm", "tang_dat", "do_sau", "depth", "tang")
COMMUNE_SQL = (
    "SELECT ST_AsBinary(geom) FROM commune WHERE ST_Intersects(geom, ST_GeomFromText(%s, 4326)) "
    "ORDER BY ST_Area(ST_Intersection(geom, ST_GeomFromText(%s, 4326))) DESC LIMIT 1"
)


def _read(path: Path):
    if path.suffix.lower() in {".xlsx", ".xls"}:
        try:
            frame = pd.read_excel(path, dtype=str).fillna("")
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise InvalidInput(
                f"Không đọc được bảng Excel {path.name}: {exc}.",
                f"Cannot read the Excel sheet {path.name}: {exc}.",
                hint_vi="Lưu lại thành .xlsx hoặc .csv.", hint_en="Save it again as .xlsx or .csv.",
            ) from exc  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / (path.stem + ".csv")
            frame.to_csv(csv, index=False, encoding="utf-8")
            table = read_table(csv)
        table.source_name = path.name
        return table
    return read_table(path)


def _northing_first(geoms: np.ndarray) -> bool:
    present = [g for g in geoms if g is not None and not g.is_empty]
    if not present:
        return False
    xs, ys = shapely.get_coordinates(np.array(present, dtype=object)).T
    return bool(xs.min() > 1_000_000 and ys.max() < 1_000_000)


def property_columns(columns: list[str], config: SoilConfig) -> dict[str, tuple[str, str]]:
    """{column: (property, unit)} for columns naming a soil property, "OM (%)" or "ph_kcl".

    A column without a unit takes its property's first table unit.
    """
    found: dict[str, tuple[str, str]] = {}
    for col in columns:
        m = _HEADER.match(str(col))
        if not m:
            continue
        try:
            prop = property_key(m["name"])
        except ValueError:
            continue
        if not config.has_table(prop):
            continue
        unit = unit_key(m["unit"]) if m["unit"] else config.table(prop).unit
        found[col] = (prop, unit)
    return found


def _local_metres(lon0: float, lat0: float) -> Transformer:
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m")
    return Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)


def survey_grid(area: shapely.Geometry, cell_m: float) -> tuple[Affine, int, int]:
    """A WGS84 grid of about ``cell_m`` square cells covering ``area``."""
    west, south, east, north = area.bounds
    lat = (south + north) / 2
    dy = cell_m / METRES_PER_DEGREE
    dx = cell_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    width, height = int(math.ceil((east - west) / dx)), int(math.ceil((north - south) / dy))
    return Affine(dx, 0, west, 0, -dy, north), width, height


def interpolate_property(
    lonlat: np.ndarray, z: np.ndarray, area: shapely.Geometry, *, config: SoilConfig,
    method: str | None = None, cell_m: float | None = None,
) -> tuple[np.ndarray, Affine, str, dict[str, Any], dict[str, Any]]:  # fmt: skip
    """(bands, transform, method, params, reliability) for one property's samples.

    Band 1 is the estimate inside ``area`` (NaN outside); band 2, for kriging, its standard
    deviation. ``method`` None follows the configuration ("auto": kriging from
    kriging_min_samples samples, else IDW).
    """
    opts = config.interpolation
    cell_m = float(cell_m or opts.get("cell_m", 20))
    chosen = method or str(opts.get("method", "auto"))
    if chosen == "auto":
        enough = len(z) >= int(opts.get("kriging_min_samples", 50))
        chosen = "ordinary_kriging" if enough else "idw"
    if chosen not in {"idw", "ordinary_kriging"}:
        raise InvalidInput(
            f"Phương pháp nội suy '{chosen}' không có.", f"Unknown interpolation method '{chosen}'.",
            hint_vi="Chọn idw, ordinary_kriging hoặc auto.", hint_en="Choose idw, ordinary_kriging or auto.",
        )  # fmt: skip
    if len(z) < 3:
        raise InvalidInput(
            f"Chỉ có {len(z)} mẫu: cần ít nhất 3 mẫu để nội suy.",
            f"Only {len(z)} samples: interpolation needs at least 3.",
        )
    started = time.perf_counter()
    transform, width, height = survey_grid(area, cell_m)
    centre = area.centroid
    to_m = _local_metres(centre.x, centre.y)
    sx, sy = to_m.transform(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([sx, sy])
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    glon, glat = transform @ (cols, rows)
    inside = shapely.contains_xy(area, glon, glat)
    gx, gy = to_m.transform(glon[inside], glat[inside])
    targets = np.column_stack([gx, gy])
    bands = np.full((2 if chosen == "ordinary_kriging" else 1, height, width), np.nan, "float32")
    params: dict[str, Any] = {"samples": int(len(z)), "cell_m": cell_m, "grid": [width, height],
                              "survey_extent_m": survey_extent(xy)}  # fmt: skip
    if chosen == "idw":
        power = float(opts.get("idw_power", 2.0))
        k = int(opts.get("idw_neighbours", 12))
        bands[0][inside] = idw(xy, z, targets, power=power, neighbours=k)
        loo = idw_loo(xy, z, power=power, neighbours=k)
        params.update({"power": power, "neighbours": k})
    else:
        variogram = fit_variogram(
            xy, z, model=str(opts.get("variogram_model", "spherical")),
            lags=int(opts.get("variogram_lags", 12)),
        )  # fmt: skip
        ok = OrdinaryKriging(xy, z, variogram)
        est, var = ok.predict(targets)
        bands[0][inside] = est
        bands[1][inside] = np.sqrt(var)
        loo, _ = ok.loo()
        params.update({"variogram": variogram.as_dict(), "neighbourhood": "global"})
    reliability = cross_validation(z, loo)
    reliability["method"] = "leave-one-out"
    params["seconds"] = round(time.perf_counter() - started, 3)
    return bands, transform, chosen, params, reliability


def import_samples(
    conn: psycopg.Connection, path: Path, *, crs: str | None, user: str, data_dir: Path,
    config: SoilConfig | None = None, method: str | None = None, cell_m: float | None = None,
    encoding: str | None = None,
) -> ImportSummary:  # fmt: skip
    """Import a sample table (CSV, Excel or shapefile) and build one raster per property."""
    config = config or load_config()
    path = Path(path)
    table = _read(path)
    summary = ImportSummary(layer="soil_samples", source=path.name, features_read=len(table.frame))
    summary.encoding, summary.encoding_note = decode_text(table, encoding)
    # geo.readers reads a table's X/Y by their values (survey order X = northing detected).
    summary.coordinates_note = getattr(table, "coordinates_note", "")
    if "northing, " in summary.coordinates_note:
        summary.warnings.append(summary.coordinates_note)
    elif _northing_first(table.geometry):
        # A Vietnamese survey table: X is the northing, Y the easting (shared/DOMAIN.md).
        table.geometry = np.array(
            [None if g is None else shapely.Point(g.y, g.x) for g in table.geometry], dtype=object
        )
        summary.warnings.append("X is the northing and Y the easting (survey order): swapped")
    geoms, summary.crs_label, summary.crs_note = reproject(table, crs)
    columns = property_columns(list(table.frame.columns), config)
    if not columns:
        raise InvalidInput(
            f"Bảng mẫu {path.name} không có cột chỉ tiêu đất nào (có: {', '.join(map(str, table.frame.columns))}).",
            f"The sample table {path.name} has no soil property column (has: {', '.join(map(str, table.frame.columns))}).",
            hint_vi="Đặt tên cột như ph_kcl, om (%), n (%), p2o5_dt (mg/100g), k2o_dt (mg/100g).",
            hint_en="Name columns like ph_kcl, om (%), n (%), p2o5_dt (mg/100g), k2o_dt (mg/100g).",
        )  # fmt: skip
    folded = {fold(str(c)).replace(" ", "_"): c for c in table.frame.columns}
    depth_col = next((folded[n] for n in DEPTH_NAMES if n in folded), None)
    depths = sorted({str(v).strip() for v in table.frame[depth_col]} - {""}) if depth_col else []
    if len(depths) > 1:
        raise InvalidInput(
            f"Bảng mẫu có nhiều tầng đất ({', '.join(depths)}): mỗi lần nhập một tầng.",
            f"The table holds several depths ({', '.join(depths)}): import one depth at a time.",
        )
    depth = depths[0] if depths else None
    have = np.array([g is not None and not g.is_empty for g in geoms])
    points = shapely.points(shapely.get_coordinates(geoms[have]))
    lonlat = shapely.get_coordinates(points)
    hull = shapely.convex_hull(shapely.multipoints(lonlat))
    row = conn.execute(COMMUNE_SQL, (hull.wkt, hull.wkt)).fetchone()
    area = shapely.from_wkb(row[0]) if row else hull.buffer(0.002)
    with import_transaction(conn):
        batch = record_batch(conn, layer="soil_rasters", source=path.name,
                             crs=summary.crs_label, encoding=summary.encoding,
                             counts=(len(table.frame), len(columns), 0, 0), user=user)  # fmt: skip
        for col, (prop, unit) in columns.items():
            raw = pd.to_numeric(
                table.frame[col].astype(str).str.replace(",", ".", regex=False).str.strip(),
                errors="coerce",
            ).to_numpy()[have]
            tbl, factor = config.to_table_unit(prop, unit)
            ok = ~np.isnan(raw)
            for i in np.flatnonzero(~ok):
                summary.rejected.append((int(np.flatnonzero(have)[i]) + 2, f"{col}: no value"))
            bands, transform, used, params, reliability = interpolate_property(
                lonlat[ok], raw[ok] * factor, area, config=config, method=method, cell_m=cell_m
            )
            reliability["unit"] = tbl.unit
            catalogue_raster(
                conn, bands=bands, transform=transform, prop=prop, unit=tbl.unit,
                depth_cm=depth, source=path.name, surveyed_on=None, method=used, params=params,
                reliability=reliability, source_unit=unit if factor != 1.0 else None,
                batch=batch, data_dir=data_dir, name=path.name, config=config,
            )  # fmt: skip
            summary.imported += 1
    summary.batch_id = batch
    return summary
