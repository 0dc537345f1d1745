"""Soil fertility (nông hóa thổ nhưỡng): classified zones (vector) and the raster catalogue."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from geo.soil import grade, property_key
from geo.values import parse_number, parse_text

from .schema import Field, LayerSpec


@lru_cache(maxsize=1)
def grade_tables() -> dict[str, list[dict[str, Any]]]:
    data = json.loads((files("layers") / "soil_grades.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _property(value: Any) -> str | None:
    text = parse_text(value)
    return None if text is None else property_key(text)


def _fill_grade(row: dict[str, Any]) -> dict[str, Any]:
    """A zone without a grade gets one from its value and the configured table."""
    if row.get("grade") is None:
        table = grade_tables().get(row["property"], [])
        derived = grade(row.get("value"), table)
        if derived is None:
            raise ValueError(
                f"no grade (CAP) given and none can be derived for {row['property']}={row.get('value')}"
            )
        return {"grade": derived}
    return {}


ZONES = LayerSpec(
    name="soil_zones",
    table="soil_zone",
    kind="polygon",
    title_vi="Vùng nông hóa",
    fields=(
        Field(
            "property", "text", ("chi_tieu", "chitieu", "thuoc_tinh"), _property, True, "chỉ tiêu"
        ),
        Field(
            "value",
            "double precision",
            ("gia_tri", "giatri", "gia_tri_tb"),
            parse_number,
            False,
            "giá trị",
        ),
        Field("grade", "text", ("cap", "phan_cap", "xep_loai"), parse_text, False, "cấp"),
        Field(
            "survey", "text", ("dot_dieu_tra", "dot_dt", "nguon"), parse_text, False, "đợt điều tra"
        ),
    ),
    sql_file="soil_zones.sql",
    derive=_fill_grade,
)
