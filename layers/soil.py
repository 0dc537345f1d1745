"""Soil fertility (nông hóa thổ nhưỡng): classified zones (vector) and the raster catalogue."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.windows
import shapely
import shapely.geometry
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from psycopg import AsyncConnection
from pyproj import CRS, Transformer
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.utils import render

from geo.errors import InvalidInput, NotFound, StoredFileMissing
from geo.soil import ClassTable, SoilConfig, advice_note, grade_shares, property_key, soil_config
from geo.soil_colours import colourise
from geo.soil_interp import class_probabilities
from geo.values import parse_number, parse_text

from .schema import Column, Layer

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def load_config(path: Path | None = None) -> SoilConfig:
    """The soil class tables, conversions and advice: ``path`` or the packaged defaults."""
    try:
        text = Path(path).read_text(encoding="utf-8") if path else (
            files("layers") / "soil_classes.json").read_text(encoding="utf-8")  # fmt: skip
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"Không đọc được cấu hình phân cấp đất {path}: {exc}.",
            f"Cannot read the soil class configuration {path}: {exc}.",
            hint_vi="Kiểm tra AGRIMAP_SOIL_CLASSES_FILE (tệp JSON như layers/soil_classes.json).",
            hint_en="Check AGRIMAP_SOIL_CLASSES_FILE (a JSON file like layers/soil_classes.json).",
        ) from exc
    return soil_config(data)


def _property(value: Any) -> str | None:
    text = parse_text(value)
    return None if text is None else property_key(text)


def _fill_grade(row: dict[str, Any]) -> dict[str, Any]:
    """A zone without a grade gets one from its value and the configured table."""
    if row.get("grade") is None:
        config = load_config()
        derived = (
            config.table(row["property"]).grade(row.get("value"))
            if config.has_table(row["property"])
            else None
        )
        if derived is None:
            raise ValueError(
                f"no grade (CAP) given and none can be derived for {row['property']}={row.get('value')}"
            )
        return {"grade": derived}
    return {}


ZONES = Layer(
    id="soil_zones",
    table="soil_zone",
    geometry_type="MultiPolygon",
    title_vi="Vùng nông hóa thổ nhưỡng",
    title_en="Soil fertility zones",
    description_vi="Vùng phân cấp độ phì đất theo chỉ tiêu (pH, chất hữu cơ, N, P₂O₅, K₂O).",
    description_en="Classified soil fertility zones by property (pH, organic matter, N, P2O5, K2O).",
    columns=(
        Column("property", "text", "Chỉ tiêu", "Property", _property,
               ("chi_tieu", "chitieu", "thuoc_tinh"), required=True, public=True, popup=1),
        Column("value", "double precision", "Giá trị", "Value", parse_number,
               ("gia_tri", "giatri", "gia_tri_tb"), public=True, popup=3),
        Column("grade", "text", "Cấp", "Grade", parse_text, ("cap", "phan_cap", "xep_loai"),
               public=True, popup=2),
        Column("survey", "text", "Đợt điều tra", "Survey", parse_text,
               ("dot_dieu_tra", "dot_dt", "nguon"), public=True),
    ),
    sql_file="soil_zones.sql",
    derive=_fill_grade,
)  # fmt: skip

# The raster catalogue: rasters are imported by layers.ingest.rasters, not from vector files.
RASTERS = Layer(
    id="soil_rasters",
    table="soil_raster",
    geometry_type="Polygon",
    title_vi="Bản đồ nông hóa dạng ảnh",
    title_en="Soil rasters",
    description_vi="Danh mục ảnh raster chỉ tiêu đất; hình học là phạm vi của ảnh.",
    description_en="Catalogue of soil property rasters; the geometry is each raster's footprint.",
    columns=(
        Column("property", "text", "Chỉ tiêu", "Property", public=True),
        Column("unit", "text", "Đơn vị", "Unit", public=True),
        Column("depth_cm", "text", "Tầng đất (cm)", "Depth (cm)", public=True),
        Column("source", "text", "Nguồn", "Source", public=True),
        Column("surveyed_on", "date", "Ngày điều tra", "Surveyed on", public=True),
        Column("method", "text", "Phương pháp", "Method", public=True),
        Column("cell_m", "double precision", "Kích thước ô (m)", "Cell size (m)", public=True),
    ),
)


async def raster_file(conn: AsyncConnection, rid: int) -> tuple[str, str, str]:
    """(path on disk, property, unit) of a catalogued soil raster, or NotFound."""
    row = await (
        await conn.execute("SELECT path, property, unit FROM soil_raster WHERE id = %s", (rid,))
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có ảnh nông hóa số {rid}.", f"No soil raster {rid}.")
    return row[0], row[1], row[2]


def raster_missing(rid: int, path: str, exc: Exception) -> StoredFileMissing:
    """The error for a catalogued raster whose file cannot be read; logged for the operator."""
    log.error("soil raster %s: file %s cannot be read: %s", rid, path, exc)
    return StoredFileMissing(
        f"Ảnh nông hóa số {rid} đang thiếu hoặc hỏng trên máy chủ, chưa đọc được.",
        f"Soil raster {rid} is missing or damaged on the server and cannot be read.",
        hint_vi="Báo quản trị viên khôi phục tệp ảnh (agrimap restore từ bản sao lưu) "
        "hoặc nhập lại ảnh nông hóa.",
        hint_en="Ask the administrator to restore the raster file (agrimap restore from a "
        "backup) or import the soil raster again.",
    )


@contextmanager
def open_raster(rid: int, path: str) -> Iterator[Any]:
    """``rasterio.open`` of a catalogued raster; a missing or unreadable file is
    StoredFileMissing (a 503 naming the raster), never a bare I/O error."""
    try:
        src = rasterio.open(path)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        raise raster_missing(rid, path, exc) from exc
    with src:
        try:
            yield src
        except rasterio.errors.RasterioIOError as exc:  # opens, then fails to read: damaged
            raise raster_missing(rid, path, exc) from exc


def tile_png(
    rid: int, path: str, table: ClassTable, *, tms: Any, z: int, x: int, y: int
) -> bytes | None:
    """A 256 px PNG of one raster tile coloured by ``table``'s grades, or None outside the
    raster; a missing or unreadable file is StoredFileMissing."""
    try:
        reader = Reader(path, tms=tms)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        raise raster_missing(rid, path, exc) from exc
    with reader as src:
        try:
            img = src.tile(x, y, z, tilesize=256, resampling_method="nearest")
        except TileOutsideBounds:
            return None
        except rasterio.errors.RasterioIOError as exc:  # opens, then fails to read: damaged
            raise raster_missing(rid, path, exc) from exc
    band = img.array[0]
    valid = ~band.mask if band.mask is not None and band.mask.shape else band == band
    rgba = colourise(band.filled(0).astype("float64"), valid, table)
    return render(rgba[:3], mask=rgba[3], img_format="PNG")


# --- queries: the current raster per property, values at a point, statistics per field ------

CURRENT_RASTERS_SQL = """
SELECT DISTINCT ON (property) id, property, unit, depth_cm, path, source, surveyed_on, method,
       params, reliability, cell_m, bands, source_unit
FROM soil_raster ORDER BY property, id DESC
"""
RASTER_SQL = """
SELECT id, property, unit, depth_cm, path, source, surveyed_on, method, params, reliability,
       cell_m, bands, source_unit
FROM soil_raster WHERE id = %s
"""
AREA_SQL = """
SELECT id, code, crop, area_ha::float8, commune_code, ST_AsBinary(geom)
FROM growing_area WHERE id = %s
"""
COMMUNE_AREAS_SQL = """
SELECT id, code, crop, area_ha::float8, commune_code, ST_AsBinary(geom)
FROM growing_area WHERE commune_code = %s AND status <> 'revoked' ORDER BY id
"""
RASTER_ZONES_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', id, 'geometry', ST_AsGeoJSON(geom, 7)::json,
                    'properties', json_build_object('property', property, 'grade', grade,
                                                    'value', value))), '[]'::json))
FROM soil_zone WHERE raster_id = %s
"""


@dataclass(frozen=True)
class SoilRaster:
    """A catalogued soil raster (ảnh nông hóa): what it holds and how it was made."""

    id: int
    property: str
    unit: str
    depth_cm: str | None
    path: str
    source: str
    surveyed_on: Any
    method: str
    params: dict[str, Any]
    reliability: dict[str, Any]
    cell_m: float | None
    bands: int
    source_unit: str | None

    def public(self, config: SoilConfig) -> dict[str, Any]:
        table = config.table(self.property, self.unit)
        rel = dict(self.reliability)
        for key in ("rmse", "bias", "mae"):
            if key in rel:
                rel[f"{key}_text"] = table.format(rel[key])
        return {
            "id": self.id, "property": self.property, "unit": self.unit,
            "label_vi": table.label_vi, "label_en": table.label_en,
            "depth_cm": self.depth_cm, "source": self.source,
            "surveyed_on": self.surveyed_on.isoformat() if self.surveyed_on else None,
            "method": self.method, "params": self.params, "reliability": rel,
            "cell_m": self.cell_m, "source_unit": self.source_unit,
            "class_table": {"source": table.source, "source_vi": table.source_vi,
                            "classes": table.legend()},
            "tiles": f"/collections/soil_rasters/items/{self.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png",
        }  # fmt: skip


async def current_rasters(conn: AsyncConnection) -> list[SoilRaster]:
    """The newest raster of each property, in property order."""
    rows = await (await conn.execute(CURRENT_RASTERS_SQL)).fetchall()
    return [SoilRaster(*r) for r in rows]


async def raster(conn: AsyncConnection, rid: int) -> SoilRaster:
    row = await (await conn.execute(RASTER_SQL, (rid,))).fetchone()
    if row is None:
        raise NotFound(f"Không có ảnh nông hóa số {rid}.", f"No soil raster {rid}.")
    return SoilRaster(*row)


async def raster_zones(conn: AsyncConnection, rid: int) -> dict[str, Any]:
    """The graded zones of one raster as a GeoJSON FeatureCollection."""
    await raster(conn, rid)
    row = await (await conn.execute(RASTER_ZONES_SQL, (rid,))).fetchone()
    return row[0]


def point_values(
    rasters: list[SoilRaster], *, lon: float, lat: float, config: SoilConfig
) -> list[dict[str, Any]]:
    """The value, grade and (kriging) standard deviation of every raster at one point."""
    out = []
    for r in rasters:
        table = config.table(r.property, r.unit)
        value = sd = None
        try:
            value, sd = _value_at(r, lon, lat)
            unavailable = False
        except StoredFileMissing:  # logged; the other properties are still answered
            unavailable = True
        grade = table.grade(value)
        out.append({
            "raster_id": r.id, "property": r.property, "label_vi": table.label_vi,
            "label_en": table.label_en, "unit": r.unit, "depth_cm": r.depth_cm,
            "value": value, "value_text": table.format(value), "grade": grade, "sd": sd,
            "method": r.method, "reliability": r.reliability, "unavailable": unavailable,
        })  # fmt: skip
    return out


def _value_at(r: SoilRaster, lon: float, lat: float) -> tuple[float | None, float | None]:
    """The raster's value and (kriging) sd at one point; None outside it or on nodata."""
    with open_raster(r.id, r.path) as src:
        x, y = _to_raster_crs(src.crs, np.array([lon]), np.array([lat]))
        row, col = src.index(x[0], y[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None, None
        cell = src.read(window=rasterio.windows.Window(col, row, 1, 1), masked=True)[:, 0, 0]
        if np.ma.is_masked(cell[0]):
            return None, None
        sd = float(cell[1]) if src.count > 1 and not np.ma.is_masked(cell[1]) else None
        return float(cell[0]), sd


def _to_raster_crs(crs: Any, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if crs is None or CRS.from_user_input(crs.to_wkt()).equals(CRS.from_epsg(4326)):
        return lon, lat
    tr = Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def zonal_summaries(
    r: SoilRaster, geoms: list[shapely.Geometry], *, config: SoilConfig
) -> list[dict[str, Any]]:
    """Per field: coverage-weighted mean, min, max, share of the field in each grade, the
    covered fraction and (kriging) grade probabilities, with exactextract's exact cell-coverage
    fractions. ``geoms`` are WGS84 (Multi)Polygons."""
    table = config.table(r.property, r.unit)
    with open_raster(r.id, r.path) as src:
        raster_crs = CRS.from_user_input(src.crs.to_wkt())
        if not raster_crs.equals(CRS.from_epsg(4326)):
            tr = Transformer.from_crs("EPSG:4326", raster_crs, always_xy=True)
            geoms = [shapely.transform(g, lambda xy: np.column_stack(tr.transform(*xy.T)))
                     for g in geoms]  # fmt: skip
        cell_area = abs(src.transform.a * src.transform.e)
        features = [
            {"type": "Feature", "properties": {"fid": i}, "geometry": json.loads(g)}
            for i, g in enumerate(shapely.to_geojson(np.asarray(geoms, dtype=object)))
        ]
        bands = _window_sources(src, geoms)
    if bands is None:  # every field lies outside the raster
        results = [[]]
    else:
        results = [
            exact_extract(band, features, ops, include_cols=["fid"], output="geojson")
            for band, ops in zip(bands, (["coverage", "values"], ["values"]), strict=False)
        ]
    two = len(results) > 1
    found = {int(f["properties"]["fid"]): f["properties"] for f in results[0]}
    sds = (
        {int(f["properties"]["fid"]): f["properties"]["values"] for f in results[1]} if two else {}
    )
    empty = np.empty(0)
    out = [
        summarise_cells(
            table, found.get(i, {}).get("values", empty), found.get(i, {}).get("coverage", empty),
            sd=sds.get(i), field_cells=float(g.area) / cell_area,
        )
        for i, g in enumerate(geoms)
    ]  # fmt: skip
    shared = {"raster_id": r.id, "method": r.method, "depth_cm": r.depth_cm,
              "reliability": r.public(config)["reliability"], "unavailable": False}  # fmt: skip
    for summary in out:
        summary.update(shared)
    return out


def _window_sources(src: Any, geoms: list[shapely.Geometry]) -> list[NumPyRasterSource] | None:
    """The raster's bands over the fields' extent, in memory: exactextract then reads no
    window per field (3–4× faster than its rasterio source). NaN marks nodata."""
    west, south, east, north = shapely.total_bounds(np.asarray(geoms, dtype=object))
    cols, rows = ~src.transform @ (np.array([west, east]), np.array([north, south]))
    col0, col1 = max(int(np.floor(cols.min())) - 1, 0), min(int(np.ceil(cols.max())) + 1, src.width)
    row0, row1 = (
        max(int(np.floor(rows.min())) - 1, 0),
        min(int(np.ceil(rows.max())) + 1, src.height),
    )
    if col1 <= col0 or row1 <= row0:
        return None
    window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
    left, bottom, right, top = rasterio.windows.bounds(window, src.transform)
    sources = []
    for b in range(1, src.count + 1):
        data = src.read(b, window=window, masked=True).astype("float64").filled(np.nan)
        sources.append(NumPyRasterSource(data, left, bottom, right, top, nodata=np.nan))
    return sources


def summarise_cells(
    table: ClassTable, values: np.ndarray, cover: np.ndarray, *, sd: np.ndarray | None = None,
    field_cells: float,
) -> dict[str, Any]:  # fmt: skip
    """The statistics of one field from its cells' values and coverage fractions."""
    values, cover = np.asarray(values, float), np.asarray(cover, float)
    base = {"property": table.property, "unit": table.unit, "label_vi": table.label_vi,
            "label_en": table.label_en}  # fmt: skip
    if values.size == 0 or cover.sum() <= 0:
        return {**base, "mean": None, "min": None, "max": None, "covered": 0.0,
                "grades": grade_shares(table, []), "grade": None, "grade_en": None, "mean_text": "—",
                "min_text": "—", "max_text": "—"}  # fmt: skip
    mean = float((values * cover).sum() / cover.sum())
    lo, hi = float(values.min()), float(values.max())
    shares = grade_shares(table, zip(table.classify(values).tolist(), cover.tolist(), strict=True))
    summary = {
        **base, "mean": mean, "min": lo, "max": hi,
        "covered": min(float(cover.sum()) / field_cells, 1.0) if field_cells > 0 else 0.0,
        "grades": shares, "grade": table.grade(mean), "mean_text": table.format(mean),
        "grade_en": _label_en(table, table.grade(mean)),
        "min_text": table.format(lo), "max_text": table.format(hi),
    }  # fmt: skip
    if sd is not None and len(sd) == len(values):
        # Field mean of the kriging sd: an upper bound on the sd of the field mean.
        sd_mean = float((np.asarray(sd, float) * cover).sum() / cover.sum())
        bounds = [(c.low, c.high) for c in table.classes]
        probs = class_probabilities(mean, sd_mean, bounds)
        summary["sd"] = sd_mean
        summary["sd_text"] = table.format(sd_mean).replace("pH ", "")
        summary["probabilities"] = [
            {"grade": c.grade, "label_en": c.label_en, "probability": p}
            for c, p in zip(table.classes, probs, strict=True)
        ]
    return summary


def _label_en(table: ClassTable, grade: str | None) -> str | None:
    return next((c.label_en for c in table.classes if c.grade == grade), None)


def _area_row(row: tuple) -> dict[str, Any]:
    return {"id": row[0], "code": row[1], "crop": row[2], "area_ha": row[3],
            "commune_code": row[4], "geometry": shapely.from_wkb(row[5])}  # fmt: skip


async def growing_area_geoms(
    conn: AsyncConnection, *, area_id: int | None = None, commune_code: str | None = None
) -> list[dict[str, Any]]:
    """One growing area (NotFound if absent) or every one of a commune's, with geometry."""
    if area_id is not None:
        row = await (await conn.execute(AREA_SQL, (area_id,))).fetchone()
        if row is None:
            raise NotFound(f"Không có vùng trồng số {area_id}.", f"No growing area {area_id}.")
        return [_area_row(row)]
    rows = await (await conn.execute(COMMUNE_AREAS_SQL, (commune_code,))).fetchall()
    if not rows:
        raise NotFound(
            f"Xã {commune_code} chưa có vùng trồng nào.",
            f"Commune {commune_code} has no growing areas.",
            hint_vi="Kiểm tra mã xã (5 chữ số, ví dụ 02923).",
            hint_en="Check the commune code (5 digits, e.g. 02923).",
        )
    return [_area_row(r) for r in rows]


def field_reports(
    areas: list[dict[str, Any]], rasters: list[SoilRaster], *, config: SoilConfig, lang: str = "vi"
) -> list[dict[str, Any]]:
    """For each growing area: every property's statistics and the advice note."""
    geoms = [a["geometry"] for a in areas]
    per_raster = [_zonal_or_unavailable(r, geoms, config=config) for r in rasters]
    reports = []
    for i, a in enumerate(areas):
        props = [s[i] for s in per_raster]
        reports.append({
            "id": a["id"], "code": a["code"], "crop": a["crop"], "area_ha": a["area_ha"],
            "commune_code": a["commune_code"], "properties": props,
            "note": advice_note(config, [p for p in props if p.get("mean") is not None], lang=lang),
        })  # fmt: skip
    return reports


def _zonal_or_unavailable(
    r: SoilRaster, geoms: list[shapely.Geometry], *, config: SoilConfig
) -> list[dict[str, Any]]:
    """``zonal_summaries``, or for a raster whose file cannot be read (logged) a summary per
    field marked ``unavailable``: the other properties are still reported."""
    try:
        return zonal_summaries(r, geoms, config=config)
    except StoredFileMissing:
        table = config.table(r.property, r.unit)
        empty = summarise_cells(table, np.empty(0), np.empty(0), field_cells=0.0)
        return [{**empty, "raster_id": r.id, "depth_cm": r.depth_cm, "method": r.method,
                 "unavailable": True} for _ in geoms]  # fmt: skip
