"""How a source file's columns map onto a stored layer: field aliases, parsers, unique keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from geo.values import fold


@dataclass(frozen=True)
class Field:
    """One stored column and the source column names (folded) that may fill it."""

    column: str
    sql_type: str
    aliases: tuple[str, ...]
    parse: Callable[[Any], Any]
    required: bool = False
    label_vi: str = ""

    def find(self, columns: list[str]) -> str | None:
        folded = {fold(c): c for c in columns}
        for alias in (self.column, *self.aliases):
            key = fold(alias)
            if key in folded:
                return folded[key]
        return None


@dataclass(frozen=True)
class Reference:
    """A column whose values must exist in another table (checked before insert)."""

    column: str
    table: str
    target: str
    label_vi: str


@dataclass(frozen=True)
class RowCheck:
    """A check on the staged rows: ``sql`` selects (row_no, value) of each row that fails."""

    sql: str
    message_vi: str  # "{rows}" is replaced by the rows that fail
    message_en: str
    hint_vi: str = ""
    hint_en: str = ""


@dataclass(frozen=True)
class LayerSpec:
    name: str
    table: str
    kind: Literal["polygon", "point"]
    title_vi: str
    fields: tuple[Field, ...]
    sql_file: str  # INSERT ... SELECT FROM staging, in layers/ingest/sql/
    unique: tuple[str, ...] = ()  # columns unique in the stored table
    references: tuple[Reference, ...] = ()
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # row -> extra/changed values
    extra_columns: tuple[tuple[str, str], ...] = ()  # (column, sql type) filled by `derive`
    geometry_required: bool = True
    checks: tuple[RowCheck, ...] = ()

    def columns(self) -> list[tuple[str, str]]:
        return [(f.column, f.sql_type) for f in self.fields] + list(self.extra_columns)


@dataclass
class Row:
    number: int  # 1-based row in the source file
    values: dict[str, Any] = field(default_factory=dict)


def parse_changes(
    spec: LayerSpec,
    changes: dict[str, Any],
    editable: frozenset[str],
    not_null: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Parse the attribute changes of one feature with the layer's own parsers.

    Raises InvalidInput naming every field that is unknown, not editable here or malformed.
    """
    from geo.errors import InvalidInput

    by_column = {f.column: f for f in spec.fields}
    problems_vi: list[str] = []
    problems_en: list[str] = []
    out: dict[str, Any] = {}
    for key, value in changes.items():
        fld = by_column.get(key)
        if fld is None or key not in editable:
            problems_vi.append(f"không sửa được trường '{key}' ở đây")
            problems_en.append(f"field '{key}' cannot be changed here")
            continue
        try:
            parsed = fld.parse(value)
        except ValueError as exc:
            problems_vi.append(f"{fld.label_vi or key}: giá trị '{value}' không hợp lệ ({exc})")
            problems_en.append(f"{key}: {exc}")
            continue
        if parsed is None and (fld.required or key in not_null):
            problems_vi.append(f"{fld.label_vi or key} không được để trống")
            problems_en.append(f"{key} must not be empty")
            continue
        out[key] = parsed
    if problems_vi or not out:
        allowed = ", ".join(sorted(editable))
        raise InvalidInput(
            "Thay đổi không hợp lệ: " + ("; ".join(problems_vi) or "không có trường nào") + ".",
            "Invalid change: " + ("; ".join(problems_en) or "no fields given") + ".",
            hint_vi=f"Các trường sửa được: {allowed}.",
            hint_en=f"Editable fields: {allowed}.",
        )
    return out
