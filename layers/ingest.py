"""Import a file into a layer: decode, reproject, check, then write it whole or not at all."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely

from geo import crs as vncrs
from geo import crs_source, textenc, textguess
from geo.errors import InvalidInput
from geo.geometry import check_geometry

from . import admin, coverage, growing_areas, households, soil
from .ingest_write import write_rows
from .readers import RawTable, read_table
from .spec import LayerSpec

log = logging.getLogger(__name__)

SPECS: dict[str, LayerSpec] = {
    s.name: s
    for s in (
        admin.PROVINCES,
        admin.COMMUNES,
        admin.VILLAGES,
        growing_areas.SPEC,
        soil.ZONES,
        households.SPEC,
        coverage.SPEC,
    )
}
LAYER_NAMES = (*SPECS, "soil_rasters")

Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    layer: str
    source: str
    features_read: int = 0
    imported: int = 0
    repaired: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    encoding: str = "utf-8"
    encoding_note: str = ""
    crs_label: str = ""
    crs_note: str = ""
    warnings: list[str] = field(default_factory=list)
    batch_id: int | None = None


class ImportRefused(InvalidInput):
    """Rows were rejected and the caller did not ask to skip them: nothing was written."""

    def __init__(self, summary: ImportSummary) -> None:
        n = len(summary.rejected)
        details = [f"dòng/row {row}: {reason}" for row, reason in summary.rejected[:50]]
        if n > 50:
            details.append(f"... và {n - 50} dòng khác / and {n - 50} more rows")
        super().__init__(
            f"Không nhập tệp {summary.source}: {n}/{summary.features_read} đối tượng bị từ chối; cơ sở dữ liệu không thay đổi.",
            f"Did not import {summary.source}: {n} of {summary.features_read} features were rejected; the database is unchanged.",
            hint_vi="Sửa các dòng được liệt kê rồi nhập lại, hoặc dùng --skip-invalid để chỉ nhập các dòng hợp lệ.",
            hint_en="Fix the rows listed and import again, or pass --skip-invalid to import only the valid rows.",
            details=details,
        )
        self.summary = summary


def unknown_layer(name: str) -> InvalidInput:
    names = ", ".join(LAYER_NAMES)
    return InvalidInput(
        f"Không có lớp '{name}'.",
        f"Unknown layer '{name}'.",
        hint_vi=f"Chọn --layer là một trong: {names}.",
        hint_en=f"Choose --layer from: {names}.",
    )


# --- text -------------------------------------------------------------------------------


def _text_columns(table: RawTable) -> list[str]:
    frame = table.frame
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
    ]


def decode_text(table: RawTable, encoding: str | None) -> tuple[str, str]:
    """Decode every text column in place to NFC Unicode; returns (encoding, note)."""
    columns = _text_columns(table)
    if not table.bytes_text:
        values = [v for c in columns for v in table.frame[c] if isinstance(v, str)]
        if encoding is None and not any(textguess.looks_like_mojibake(v) for v in values):
            return "utf-8", ""
        # Text that was mis-converted before it reached a UTF-8 format: undo that first.
        for c in columns:
            table.frame[c] = [
                _recovered_latin1(v) if isinstance(v, str) else v for v in table.frame[c]
            ]
    non_ascii = _non_ascii_sample(table, columns)
    if encoding is not None:
        chosen = textenc.normalise_encoding_name(encoding)
        note = f"encoding given by --encoding: {chosen}"
    elif not non_ascii:
        chosen, note = "utf-8", ""
    else:
        guess = textguess.guess_encoding(non_ascii)
        chosen = guess.encoding
        note = f"{guess.reason} (e.g. '{guess.example_raw}' -> '{guess.example_decoded}')"
        if table.declared_encoding and _cpg_name(table.declared_encoding) not in (None, chosen):
            note += f"; the .cpg file says {table.declared_encoding}, which does not fit the text"
    for c in columns:
        table.frame[c] = [_decode_value(v, chosen) for v in table.frame[c]]
    return chosen, note


def _decode_value(value: object, encoding: str) -> object:
    if not isinstance(value, str):
        return value
    if value.isascii() and value.isprintable():  # TCVN3 puts capitals on control bytes
        return value
    return textenc.decode_legacy(value.encode("latin-1"), encoding)


def _non_ascii_sample(table: RawTable, columns: list[str], size: int = 5000) -> list[bytes]:
    """Distinct non-ASCII values, evenly spread over the file: enough to tell the encoding
    apart without scoring every one of a million rows."""
    seen: dict[bytes, None] = {}
    for c in columns:
        values = [
            v
            for v in table.frame[c]
            if isinstance(v, str) and not (v.isascii() and v.isprintable())
        ]
        step = max(len(values) // size, 1)
        for v in values[::step]:
            seen.setdefault(v.encode("latin-1"), None)
    return list(seen)


def _recovered_latin1(value: str) -> str:
    raw = textenc.recover_bytes(value)
    return raw.decode("latin-1") if raw is not None else value.encode("utf-8").decode("latin-1")


def _cpg_name(declared: str) -> str | None:
    try:
        return textenc.normalise_encoding_name(declared)
    except InvalidInput:
        return None


# --- geometry ---------------------------------------------------------------------------


def _bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    present = geoms[[g is not None and not g.is_empty for g in geoms]]
    if len(present) == 0:
        return None
    b = shapely.total_bounds(present)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def reproject(table: RawTable, crs_option: str | None) -> tuple[np.ndarray, str, str]:
    """Geometries in WGS84 lon/lat; returns them with the source CRS label and how it was chosen."""
    bounds = _bounds(table.geometry)
    if bounds is None:
        return table.geometry, "", ""
    resolved = crs_source.resolve_source_crs(option=crs_option, file_crs=table.crs, bounds=bounds)
    transformer = vncrs.transformer_to_wgs84(resolved.crs)
    mask = np.array([g is not None for g in table.geometry])
    out = np.full(len(table.geometry), None, dtype=object)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    out[mask] = shapely.transform(shapely.force_2d(table.geometry[mask].astype(object)), move)
    after = _bounds(out)
    if after is not None:
        crs_source.check_in_vietnam(after, source_crs_label=resolved.label, source_bounds=bounds)
    return out, resolved.label, resolved.note_en


# --- rows -------------------------------------------------------------------------------


def build_rows(
    spec: LayerSpec, table: RawTable, geoms: np.ndarray, summary: ImportSummary
) -> list[dict[str, Any]]:
    """Parse attributes and check geometries; rejected rows go into the summary."""
    columns = list(table.frame.columns)
    found = {f.column: f.find(columns) for f in spec.fields}
    missing = [f for f in spec.fields if f.required and found[f.column] is None]
    if missing:
        want = ", ".join(
            f"{f.label_vi} ({f.aliases[0] if f.aliases else f.column})" for f in missing
        )
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


def _parse_row(
    spec: LayerSpec, found: dict[str, str | None], record: dict
) -> tuple[dict, list[str]]:
    row: dict[str, Any] = {}
    problems: list[str] = []
    for f in spec.fields:
        source = found[f.column]
        try:
            value = f.parse(record[source]) if source is not None else None
        except ValueError as exc:
            problems.append(f"{f.label_vi} ({source}): {exc}")
            continue
        if value is None and f.required:
            problems.append(f"thiếu {f.label_vi} / missing {f.column} ({source})")
        row[f.column] = value
    if spec.derive is not None and not problems:
        try:
            row.update(spec.derive(row))
        except ValueError as exc:
            problems.append(str(exc))
    return row, problems


def _reject_duplicates(spec: LayerSpec, rows: list[dict[str, Any]], summary: ImportSummary) -> None:
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


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    layer: str,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    skip_invalid: bool = False,
    user: str = "cli",
    data_dir: Path = Path(".cache/data"),
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file into ``layer``: all of it lands, or (on any error) none of it."""
    if layer == "soil_rasters":
        from .rasters import import_raster

        return import_raster(conn, path, crs=crs, user=user, data_dir=data_dir)
    spec = SPECS.get(layer)
    if spec is None:
        raise unknown_layer(layer)
    if progress:
        progress("read", 0, 1)
    table = read_table(Path(path), source_layer=source_layer)
    summary = ImportSummary(layer=layer, source=table.source_name, features_read=len(table.frame))
    summary.encoding, summary.encoding_note = decode_text(table, encoding)
    geoms, summary.crs_label, summary.crs_note = reproject(table, crs)
    if progress:
        progress("check", 0, summary.features_read)
    rows = build_rows(spec, table, geoms, summary)
    if progress:
        progress("check", summary.features_read, summary.features_read)
    if summary.rejected and not skip_invalid:
        raise ImportRefused(summary)
    if not rows:
        raise ImportRefused(summary)
    write_rows(conn, spec, rows, summary, user=user, progress=progress)
    return summary
