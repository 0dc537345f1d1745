"""Soil rasters: reproject a GeoTIFF to WGS84, store it as a Cloud-Optimized GeoTIFF with
overviews, catalogue it (property, unit, depth, source, date, method, reliability) and grade
it into zones with the property's class table."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import rasterio
import shapely
from affine import Affine
from psycopg.types.json import Jsonb
from pyproj import CRS
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles
from shapely.geometry import box

from geo import crs as vncrs
from geo import crs_source
from geo.errors import InvalidInput
from geo.soil import SoilConfig, property_key, unit_key
from geo.soil_zones import graded_zones

from ..soil import load_config
from .result import ImportSummary
from .write import import_transaction, record_batch

NODATA = -9999.0
WGS84 = "EPSG:4326"
METRES_PER_DEGREE = 111_320.0


def _property_from(tags: dict[str, str], name: str) -> str:
    if "property" in tags:
        return property_key(tags["property"])
    for word in re.split(r"[_\-. ]+", Path(name).stem.lower()):
        try:
            return property_key(word)
        except ValueError:
            continue
    raise InvalidInput(
        f"Không biết ảnh {name} thể hiện chỉ tiêu đất nào.",
        f"Cannot tell which soil property {name} holds.",
        hint_vi="Đặt tên tệp có chỉ tiêu (ví dụ nong_hoa_om.tif, ..._ph.tif) hoặc thêm thẻ property vào GeoTIFF.",
        hint_en="Name the file after the property (e.g. soil_om.tif) or add a 'property' tag to the GeoTIFF.",
    )


def _date(text: str | None) -> date | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y"):
        try:
            from datetime import datetime

            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise InvalidInput(
        f"Ngày điều tra '{text}' không đọc được.",
        f"Survey date '{text}' is not a date.",
        hint_vi="Ghi dạng dd/mm/yyyy hoặc yyyy-mm-dd.",
        hint_en="Write it as dd/mm/yyyy or yyyy-mm-dd.",
    )


def cell_metres(transform: Affine, crs: CRS | str, lat: float) -> float:
    """The side of a cell in metres (the mean of its two sides for a geographic grid)."""
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        dx = abs(transform.a) * METRES_PER_DEGREE * math.cos(math.radians(lat))
        dy = abs(transform.e) * METRES_PER_DEGREE
        return float((dx + dy) / 2)
    return float((abs(transform.a) + abs(transform.e)) / 2)


def write_cog(
    dest: Path, bands: np.ndarray, transform: Affine, *, crs: str = WGS84,
    tags: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Write float32 ``bands`` (count, h, w; NaN = nodata) as a deflated COG with overviews."""
    data = np.where(np.isnan(bands), NODATA, bands).astype("float32")
    count, height, width = data.shape
    profile = {
        "driver": "GTiff", "height": height, "width": width, "count": count, "dtype": "float32",
        "crs": crs, "transform": transform, "nodata": NODATA,
    }  # fmt: skip
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp.tif")
    # 256-pixel blocks, as the tiles; overviews halve until the whole raster fits one block.
    cog_profile = {**cog_profiles.get("deflate"), "blockxsize": 256, "blockysize": 256}
    levels = max(1, math.ceil(math.log2(max(width, height) / 256))) if min(width, height) > 1 else 0
    with MemoryFile() as mem:
        with mem.open(**profile) as src:
            src.write(data)
            if tags:
                src.update_tags(**tags)
        with mem.open() as src:
            cog_translate(
                src, str(tmp), cog_profile, overview_level=levels, overview_resampling="average",
                quiet=True, add_mask=False, config={"GDAL_NUM_THREADS": "1"},
            )  # fmt: skip
    tmp.replace(dest)  # the file appears under its name only when complete


def to_wgs84(src: rasterio.DatasetReader, source_crs: CRS) -> tuple[np.ndarray, Affine]:
    """Every band of ``src`` on a WGS84 grid of about the same cell size; NaN outside.

    Nearest neighbour (the values stay lab values, no blending across a nodata edge). Each
    target cell centre is mapped back through our own transformer (geo.crs: VN-2000 always
    through the official EPSG:6960 shift), not through whatever GDAL would pick.
    """
    transform, width, height = calculate_default_transform(
        source_crs.to_wkt(), WGS84, src.width, src.height, *src.bounds
    )
    forward = vncrs.transformer_to_wgs84(source_crs)
    # The grid's corners from our transformer (GDAL's may be ~200 m off for VN-2000).
    outline = box(*src.bounds).segmentize(
        max(src.bounds.right - src.bounds.left, src.bounds.top - src.bounds.bottom) / 64
    )
    lon, lat = forward.transform(*np.asarray(outline.exterior.coords).T)
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    dx, dy = abs(transform.a), abs(transform.e)
    width, height = int(math.ceil((east - west) / dx)), int(math.ceil((north - south) / dy))
    transform = Affine(dx, 0, west, 0, -dy, north)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    glon, glat = transform @ (cols, rows)
    sx, sy = forward.transform(glon.ravel(), glat.ravel(), direction="INVERSE")
    scol, srow = ~src.transform @ (np.asarray(sx), np.asarray(sy))
    scol, srow = np.floor(scol).astype("int64"), np.floor(srow).astype("int64")
    inside = (scol >= 0) & (scol < src.width) & (srow >= 0) & (srow < src.height)
    out = np.full((src.count, height * width), np.nan, dtype="float32")
    for b in range(src.count):
        band = src.read(b + 1, masked=True).astype("float32").filled(np.nan)
        out[b, inside] = band[srow[inside], scol[inside]]
    return out.reshape(src.count, height, width), transform


def catalogue_raster(
    conn: psycopg.Connection, *, bands: np.ndarray, transform: Affine, prop: str, unit: str,
    depth_cm: str | None, source: str, surveyed_on: date | None, method: str,
    params: dict[str, Any], reliability: dict[str, Any], source_unit: str | None,
    batch: int, data_dir: Path, name: str, config: SoilConfig,
) -> int:  # fmt: skip
    """Write ``bands`` (WGS84) as a COG under ``data_dir``/rasters, record it in soil_raster
    and grade it into soil_zone rows; inside the caller's transaction. Returns its id."""
    values = bands[0]
    valid = ~np.isnan(values)
    if not valid.any():
        raise InvalidInput(
            f"Ảnh {name} không có giá trị nào (toàn nodata).",
            f"Raster {name} has no data (all nodata).",
        )
    h, w = values.shape
    west, north = transform.c, transform.f
    east, south = west + transform.a * w, north + transform.e * h
    lat = (north + south) / 2
    cell = cell_metres(transform, WGS84, lat)
    stats = {
        "min": float(np.nanmin(values)), "max": float(np.nanmax(values)),
        "mean": float(np.nanmean(values)),
    }  # fmt: skip
    digest = hashlib.sha256(bands.tobytes()).hexdigest()[:12]
    dest = Path(data_dir) / "rasters" / f"{Path(name).stem}-{prop}-{digest}.tif"
    created = not dest.exists()
    if created:
        write_cog(dest, bands, transform, tags={"property": prop, "unit": unit,
                                                "depth_cm": depth_cm or "", "method": method})  # fmt: skip
    footprint = box(west, south, east, north)
    try:
        rid = conn.execute(
            "INSERT INTO soil_raster (property, unit, depth_cm, path, source, surveyed_on, stats, "
            "import_batch_id, method, params, reliability, cell_m, bands, source_unit, geom) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "ST_GeomFromText(%s, 4326)) RETURNING id",
            (prop, unit, depth_cm, str(dest), source, surveyed_on, Jsonb(stats), batch, method,
             Jsonb(params), Jsonb(reliability), cell, bands.shape[0], source_unit, footprint.wkt),
        ).fetchone()[0]  # fmt: skip
        grade_raster(conn, raster_id=rid, values=values, transform=transform, prop=prop,
                     unit=unit, source=source, config=config, cell_m=cell)  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise InvalidInput(
            f"Ảnh {name} ({prop}) đã được nhập trước đây.",
            f"Raster {name} ({prop}) was imported before.",
        ) from exc
    except Exception:
        if created:
            dest.unlink(missing_ok=True)  # nothing half-written stays behind
        raise
    return rid


def grade_raster(
    conn: psycopg.Connection, *, raster_id: int, values: np.ndarray, transform: Affine,
    prop: str, unit: str, source: str, config: SoilConfig, cell_m: float,
) -> int:  # fmt: skip
    """Replace the raster's graded zones (soil_zone.raster_id) with the class table's."""
    table = config.table(prop, unit)
    min_ha = float(config.zones.get("min_area_ha", 0.5))
    min_cells = max(1, int(round(min_ha * 10_000 / (cell_m * cell_m))))
    simplify = float(config.zones.get("simplify_cells", 0.75)) * abs(transform.a)
    zones = graded_zones(values, ~np.isnan(values), transform, table,
                         min_cells=min_cells, simplify=simplify)  # fmt: skip
    conn.execute("DELETE FROM soil_zone WHERE raster_id = %s", (raster_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO soil_zone (property, value, grade, survey, raster_id, geom) VALUES "
            "(%s, %s, %s, %s, %s, ST_Multi(ST_CollectionExtract(ST_MakeValid("
            "ST_GeomFromText(%s, 4326)), 3)))",
            [(prop, round(z.value, table.decimals + 1), z.grade, source, raster_id,
              shapely.to_wkt(z.geometry, rounding_precision=8)) for z in zones],
        )  # fmt: skip
    return len(zones)


def import_raster(
    conn: psycopg.Connection, path: Path, *, crs: str | None, user: str, data_dir: Path,
    config: SoilConfig | None = None,
) -> ImportSummary:  # fmt: skip
    """Import one soil-property GeoTIFF in any CRS (VN-2000 TM-3, UTM, WGS84...)."""
    config = config or load_config()
    path = Path(path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInput(
            f"Không đọc được ảnh {path.name}: {exc}.",
            f"Cannot read raster {path.name}: {exc}.",
            hint_vi="Dùng GeoTIFF (.tif).",
            hint_en="Use a GeoTIFF (.tif).",
        ) from exc
    with src:
        tags = {k.lower(): v for k, v in src.tags().items()}
        tags.update({k.lower(): v for k, v in src.tags(1).items()})
        prop = _property_from(tags, path.name)
        source_unit = unit_key(tags.get("unit") or config.table(prop).unit)
        table, factor = config.to_table_unit(prop, source_unit)
        file_crs = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
        resolved = crs_source.resolve_source_crs(
            option=crs, file_crs=file_crs, bounds=tuple(src.bounds)
        )
        tr = vncrs.transformer_to_wgs84(resolved.crs)
        outline = box(*src.bounds).segmentize(
            max(src.bounds.right - src.bounds.left, src.bounds.top - src.bounds.bottom) / 32
        )
        footprint = shapely.transform(
            outline, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
        )
        crs_source.check_in_vietnam(
            footprint.bounds, source_crs_label=resolved.label, source_bounds=tuple(src.bounds)
        )
        if resolved.crs.equals(CRS.from_epsg(4326)):
            bands = np.stack([src.read(b + 1, masked=True).astype("float32").filled(np.nan)
                              for b in range(src.count)])  # fmt: skip
            transform = src.transform
        else:
            # The resolved CRS may differ from the file's (a bare Transverse_Mercator .prj
            # named by the officer): warp with the resolved one.
            bands, transform = to_wgs84(src, resolved.crs)
    bands = bands[:1] * np.float32(factor)
    summary = ImportSummary(layer="soil_rasters", source=path.name, features_read=1, encoding="-")
    summary.crs_label, summary.crs_note = resolved.label, resolved.note_en
    if factor != 1.0:
        summary.warnings.append(
            f"{prop}: {source_unit} × {factor:g} = {table.unit} (class table unit)"
        )
    with import_transaction(conn):
        batch = record_batch(conn, layer="soil_rasters", source=path.name, crs=resolved.label,
                             encoding="-", counts=(1, 1, 0, 0), user=user)  # fmt: skip
        catalogue_raster(
            conn, bands=bands, transform=transform, prop=prop, unit=table.unit,
            depth_cm=tags.get("depth_cm") or None, source=tags.get("source") or path.name,
            surveyed_on=_date(tags.get("surveyed_on")), method="imported",
            params={"source_crs": resolved.label, "resampling": "nearest"}, reliability={},
            source_unit=source_unit if factor != 1.0 else None, batch=batch,
            data_dir=data_dir, name=path.name, config=config,
        )  # fmt: skip
    summary.imported, summary.batch_id = 1, batch
    return summary


REGRADE_SQL = "SELECT id, property, unit, source, path, cell_m FROM soil_raster ORDER BY id"


def regrade_all(conn: psycopg.Connection, *, config: SoilConfig) -> dict[int, int]:
    """Re-grade every catalogued raster's zones with the current class tables (after the
    tables changed); one transaction. Returns {raster id: zone count}."""
    counts = {}
    with conn.transaction():
        for rid, prop, unit, source, path, cell_m in conn.execute(REGRADE_SQL).fetchall():
            with rasterio.open(path) as src:
                values = src.read(1, masked=True).astype("float32").filled(np.nan)
                transform = src.transform
                if not CRS.from_user_input(src.crs.to_wkt()).equals(CRS.from_epsg(4326)):
                    continue  # rasters from before issue 16 keep their imported zones
            counts[rid] = grade_raster(
                conn, raster_id=rid, values=values, transform=transform, prop=prop, unit=unit,
                source=source, config=config, cell_m=cell_m or cell_metres(transform, WGS84, 0.0),
            )  # fmt: skip
    return counts
