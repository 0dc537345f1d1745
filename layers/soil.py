"""Soil fertility (nông hóa thổ nhưỡng): classified zones (vector) and the raster catalogue."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from geo.errors import InvalidInput, NotFound
from geo.soil import SoilConfig, property_key, soil_config
from geo.values import parse_number, parse_text

from .schema import Column, Layer


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
