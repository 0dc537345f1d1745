"""Turn a decoded, reprojected table into rows of a layer: parse attributes with the layer's
parsers, check geometries, reject duplicates. Rejections go into the import summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from geo.errors import InvalidInput
from geo.geometry import check_geometry
from geo.readers import RawTable

from ..schema import Layer
from .result import ImportSummary


def build_rows(
    spec: Layer, table: RawTable, geoms: np.ndarray, summary: ImportSummary
) -> list[dict[str, Any]]:
    """Parse attributes and check geometries; rejected rows go into the summary."""
    columns = list(table.frame.columns)
    found = {f.name: f.find(columns) for f in spec.fields}
    missing = [f for f in spec.fields if f.required and found[f.name] is None]
    if missing:
        want = ", ".join(f"{f.label_vi} ({f.aliases[0] if f.aliases else f.name})" for f in missing)
        raise InvalidInput(
            f"Tệp thiếu cột bắt buộc cho lớp {spec.title_vi}: {want}. Các cột có trong tệp: {', '.join(columns)}.",
            f"The file lacks required column(s) for layer {spec.name}: {want}. Columns found: {', '.join(columns)}.",
            hint_vi="Đổi tên cột cho đúng hoặc chọn đúng --layer.",
            hint_en="Rename the columns or choose the right --layer.",
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
    _reject_duplicates(spec, rows, summary)
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
        if value is None and f.required:
            problems.append(f"thiếu {f.label_vi} / missing {f.name} ({source})")
        row[f.name] = value
    if spec.derive is not None and not problems:
        try:
            row.update(spec.derive(row))
        except ValueError as exc:
            problems.append(str(exc))
    return row, problems


def _reject_duplicates(spec: Layer, rows: list[dict[str, Any]], summary: ImportSummary) -> None:
    for column in spec.unique:
        counts = Counter(r[column] for r in rows)
        dupes = {v for v, n in counts.items() if n > 1}
        if not dupes:
            continue
        keep = []
        for r in rows:
            if r[column] in dupes:
                summary.rejected.append(
                    (
                        r["row_no"],
                        f"{column} '{r[column]}' lặp lại trong tệp / appears more than once in the file",
                    )
                )
            else:
                keep.append(r)
        rows[:] = keep
