"""Turn a decoded, reprojected table into rows of a layer: parse attributes with the layer's
parsers, check geometries, reject duplicates. Rejections go into the import summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely

from geo.errors import InvalidInput
from geo.geometry import check_geometry
from geo.readers import RawTable
from geo.values import MAX_TEXT_CHARS, UNCHANGED

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
    values, problems = _parse_columns(spec, found, table)
    names = [f.name for f in spec.fields]
    points_ok = _plain_points(geoms) if spec.kind == "point" else None
    rows: list[dict[str, Any]] = []
    keys = ("row_no", *names, "geom")
    # A plain point with no problem and nothing to derive is the row as read (most of a file).
    plain = points_ok.tolist() if points_ok is not None else [False] * len(geoms)
    if spec.derive is not None:
        plain = [False] * len(geoms)
    cells = zip(*values, strict=True) if values else iter(lambda: (), None)
    for i, (geom, vals) in enumerate(zip(geoms, cells, strict=False)):
        row_no = i + 1
        if plain[i] and i not in problems:
            rows.append(dict(zip(keys, (row_no, *vals, geom), strict=True)))
            continue
        row = dict(zip(names, vals, strict=True))
        found_problems = problems.get(i, [])
        if spec.derive is not None and not found_problems:
            try:
                row.update(spec.derive(row))
            except ValueError as exc:
                found_problems.append(str(exc))
        if geom is None and not spec.geometry_required and not found_problems:
            rows.append({"row_no": row_no, **row, "geom": None})
            continue
        if points_ok is not None and points_ok[i]:
            checked = geom  # a plain 2-D point: nothing to check one by one
        else:
            check = check_geometry(geom, spec.kind)
            checked = check.geometry
            if check.status == "rejected":
                found_problems.append(check.note_vi + " / " + check.note_en)
            elif check.status == "repaired":
                summary.repaired.append((row_no, check.note_en))
        if found_problems:
            summary.rejected.append((row_no, "; ".join(found_problems)))
            summary.reasons[row_no] = [_pair(p) for p in found_problems]
            continue
        rows.append({"row_no": row_no, **row, "geom": checked})
    return rows


def _plain_points(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are non-empty 2-D points (checked at once, not one by one)."""
    present = np.array([g is not None for g in geoms], dtype=bool)
    ok = np.zeros(len(geoms), dtype=bool)
    if present.any():
        g = geoms[present]
        ok[present] = (shapely.get_type_id(g) == 0) & ~shapely.is_empty(g) & ~shapely.has_z(g)
    return ok


def _parse_columns(
    spec: Layer, found: dict[str, str | None], table: RawTable
) -> tuple[list[list[Any]], dict[int, list[str]]]:
    """Each field's parsed values, column by column; a value is parsed once however often it
    repeats (a million households share a few fibre answers and village codes)."""
    n = len(table.frame)
    placed = _placed_field(spec)
    values: list[list[Any]] = []
    problems: dict[int, list[str]] = {}
    for f in spec.fields:
        source = found[f.name]
        if source is None:
            values.append([None] * n)
            continue
        cache: dict[Any, tuple[Any, str | None]] = {}
        out: list[Any] = []
        cells = table.frame[source].tolist()
        if _unchanged(f, cells):
            values.append(cells)  # the parser would return every cell as it is
            continue
        for i, raw in enumerate(cells):
            try:
                parsed, problem = cache[raw]
            except KeyError:
                parsed, problem = cache[raw] = _parse_value(f, source, raw, placed)
            except TypeError:  # an unhashable cell
                parsed, problem = _parse_value(f, source, raw, placed)
            out.append(parsed)
            if problem is not None:
                problems.setdefault(i, []).append(problem)
        values.append(out)
    return values, problems


def _unchanged(f, cells: list[Any]) -> bool:
    """Whether the field's parser returns every cell unchanged (geo.values.UNCHANGED)."""
    test = UNCHANGED.get(f.parse)
    if test is None or f.non_negative or len(cells) < UNCHANGED_FROM:
        return False
    return test(cells)


# Below this many rows the cells are parsed one by one (the same answer, fewer steps).
UNCHANGED_FROM = 1000


def _parse_value(f, source: str, raw: Any, placed: str | None) -> tuple[Any, str | None]:
    try:
        value = f.parse(raw)
    except ValueError as exc:
        return None, f"{f.label_vi} ({source}): {exc}"
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return None, (
            f"{f.label_vi} ({source}): dài {len(value)} ký tự, tối đa {MAX_TEXT_CHARS} / "
            f"{len(value)} characters, at most {MAX_TEXT_CHARS}"
        )
    if f.refuses(value):
        return None, f"{f.label_vi} ({source}): {value} không được âm / must not be negative"
    if value is None and f.required and f.name != placed:
        return None, f"thiếu {f.label_vi} / missing {f.name} ({source})"
    return value, None


def _pair(problem: str) -> tuple[str, str]:
    """One problem as (Vietnamese, English): "vi / en", or a value's parser's own words."""
    vi, sep, en = problem.partition(" / ")
    return (vi, en) if sep else (problem, problem)


def _placed_field(spec: Layer) -> str | None:
    return {"commune": "commune_code", "village": "village_code"}.get(spec.placed_in or "")
