"""Soil rasters: store a GeoTIFF as a Cloud-Optimized GeoTIFF and record it in the catalogue."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import psycopg
import rasterio
import rasterio.shutil
import shapely
from pyproj import CRS
from shapely.geometry import box

from geo import crs as vncrs
from geo import crs_source
from geo.errors import InvalidInput
from geo.soil import property_key

from .result import ImportSummary
from .write import record_batch

UNITS = {
    "ph_kcl": "pH",
    "om": "%",
    "oc": "%",
    "n": "%",
    "p2o5": "mg/100g",
    "k2o": "mg/100g",
    "cec": "meq/100g",
}


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


def import_raster(
    conn: psycopg.Connection, path: Path, *, crs: str | None, user: str, data_dir: Path
) -> ImportSummary:
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
        prop = _property_from(tags, path.name)
        file_crs = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
        resolved = crs_source.resolve_source_crs(
            option=crs, file_crs=file_crs, bounds=tuple(src.bounds)
        )
        tr = vncrs.transformer_to_wgs84(resolved.crs)
        footprint = shapely.transform(
            box(*src.bounds).segmentize(
                max(src.bounds.right - src.bounds.left, src.bounds.top - src.bounds.bottom) / 32
            ),
            lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])),
        )
        crs_source.check_in_vietnam(
            footprint.bounds, source_crs_label=resolved.label, source_bounds=tuple(src.bounds)
        )
        band = src.read(1, masked=True)
        values = band.compressed()
        if values.size == 0:
            raise InvalidInput(
                f"Ảnh {path.name} không có giá trị nào (toàn nodata).",
                f"Raster {path.name} has no data (all nodata).",
            )
        stats = {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": float(np.mean(values)),
        }
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        dest = Path(data_dir) / "rasters" / f"{path.stem}-{digest}.tif"
        dest.parent.mkdir(parents=True, exist_ok=True)
        created = not dest.exists()
        if created:
            rasterio.shutil.copy(src, dest, driver="COG", compress="DEFLATE")
    summary = ImportSummary(layer="soil_rasters", source=path.name, features_read=1, encoding="-")
    summary.crs_label, summary.crs_note = resolved.label, resolved.note_en
    try:
        with conn.transaction():
            batch = record_batch(
                conn,
                layer="soil_rasters",
                source=path.name,
                crs=resolved.label,
                encoding="-",
                counts=(1, 1, 0, 0),
                user=user,
            )
            conn.execute(
                "INSERT INTO soil_raster (property, unit, depth_cm, path, source, stats, import_batch_id, geom) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
                (
                    prop, tags.get("unit", UNITS.get(prop, "")), tags.get("depth_cm"), str(dest),
                    path.name, psycopg.types.json.Jsonb(stats), batch, footprint.wkt,
                ),
            )  # fmt: skip
    except psycopg.errors.UniqueViolation as exc:
        raise InvalidInput(
            f"Ảnh {path.name} đã được nhập trước đây.",
            f"Raster {path.name} was imported before.",
        ) from exc
    except Exception:
        if created:
            dest.unlink(missing_ok=True)  # nothing half-written stays behind
        raise
    summary.imported, summary.batch_id = 1, batch
    return summary
