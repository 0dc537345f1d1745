"""Turn a decoded, reprojected table into rows of a layer: parse attributes with the layer's
parsers, check geometries, reject duplicates. Rejections go into the import summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from geo.errors import InvalidInput
from geo.geometry import check_geometry
from geo.readers import RawTable

from ..schema import Layer
from .result import ImportSummary


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["name=TEN", "code=MA"]`` (``--map field=COLUMN``, repeatable) as {field: column}."""
    out: dict[str, str] = {}
    for item in items or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InvalidInput(
                f"Cách ghép cột '{item}' không hợp lệ.",
                f"Column mapping '{item}' is malformed.",
                hint_vi="Viết --map trường=CỘT, ví dụ --map name=TEN_THON.",
                hint_en="Write --map field=COLUMN, e.g. --map name=TEN_THON.",
            )
        out[field.strip()] = column.strip()
    return out


def find_columns(
    spec: Layer, columns: list[str], mapping: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """The source column of each imported field: the mapping's, else a recognised name
    (the field's own name or one of its Vietnamese aliases, diacritics and case ignored)."""
    mapping = dict(mapping or {})
    fields = {f.name: f for f in spec.fields}
    unknown = [k for k in mapping if k not in fields]
    absent = [v for k, v in mapping.items() if k in fields and v and v not in columns]
    if unknown or absent:
        vi, en = [], []
        if unknown:
            vi.append(f"lớp {spec.title_vi} không có trường {', '.join(unknown)}")
            en.append(f"layer {spec.name} has no field {', '.join(unknown)}")
        if absent:
            vi.append(f"tệp không có cột {', '.join(absent)}")
            en.append(f"the file has no column {', '.join(absent)}")
        raise InvalidInput(
            "Ghép cột không hợp lệ: " + "; ".join(vi) + ".",
            "Invalid column mapping: " + "; ".join(en) + ".",
            hint_vi=f"Các trường: {', '.join(fields)}. Các cột trong tệp: {', '.join(columns)}.",
            hint_en=f"Fields: {', '.join(fields)}. Columns in the file: {', '.join(columns)}.",
        )
    found: dict[str, str | None] = {}
    for f in spec.fields:
        if f.name in mapping:
            found[f.name] = mapping[f.name] or None  # "field=" leaves a field unread
        else:
            found[f.name] = f.find(columns)
    return found


def build_rows(
    spec: Layer,
    table: RawTable,
    geoms: np.ndarray,
    summary: ImportSummary,
    mapping: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Parse attributes and check geometries; rejected rows go into the summary."""
    columns = list(table.frame.columns)
    found = find_columns(spec, columns, mapping)
    summary.columns = {k: v for k, v in found.items() if v is not None}
    summary.mapped = {k: v for k, v in (mapping or {}).items() if v}
    # A placed layer's commune or village may come from the location instead.
    placed = _placed_field(spec)
    missing = [f for f in spec.fields if f.required and found[f.name] is None and f.name != placed]
    if missing:
        want = ", ".join(f"{f.label_vi} ({f.aliases[0] if f.aliases else f.name})" for f in missing)
        raise InvalidInput(
            f"Tệp thiếu cột bắt buộc cho lớp {spec.title_vi}: {want}. Các cột có trong tệp: {', '.join(columns)}.",
            f"The file lacks required column(s) for layer {spec.name}: {want}. Columns found: {', '.join(columns)}.",
            hint_vi="Ghép cột bằng --map trường=CỘT (ví dụ --map code=MA), đổi tên cột, hoặc chọn đúng --layer.",
            hint_en="Map the column with --map field=COLUMN (e.g. --map code=MA), rename it, or choose the right --layer.",
        )
    records = table.frame.to_dict("records")
    rows: list[dict[str, Any]] = []
    for i, (record, geom) in enumerate(zip(records, geoms, strict=True), start=1):
        row, problems = _parse_row(spec, found, record)
        if geom is None and not spec.geometry_required and not problems:
            rows.append({"row_no": i, **row, "geom": None})
            continue
        check = check_geometry(geom, spec.kind)
        if check.status == "rejected":
            problems.append(check.note_vi + " / " + check.note_en)
        elif check.status == "repaired":
            summary.repaired.append((i, check.note_en))
        if problems:
            summary.rejected.append((i, "; ".join(problems)))
            continue
        rows.append({"row_no": i, **row, "geom": check.geometry})
    return rows


def _parse_row(spec: Layer, found: dict[str, str | None], record: dict) -> tuple[dict, list[str]]:
    row: dict[str, Any] = {}
    problems: list[str] = []
    for f in spec.fields:
        source = found[f.name]
        try:
            value = f.parse(record[source]) if source is not None else None
        except ValueError as exc:
            problems.append(f"{f.label_vi} ({source}): {exc}")
            continue
        if f.refuses(value):
            problems.append(
                f"{f.label_vi} ({source}): {value} không được âm / must not be negative"
            )
            continue
        if value is None and f.required and f.name != _placed_field(spec):
            problems.append(f"thiếu {f.label_vi} / missing {f.name} ({source})")
        row[f.name] = value
    if spec.derive is not None and not problems:
        try:
            row.update(spec.derive(row))
        except ValueError as exc:
            problems.append(str(exc))
    return row, problems


def _placed_field(spec: Layer) -> str | None:
    return {"commune": "commune_code", "village": "village_code"}.get(spec.placed_in or "")
