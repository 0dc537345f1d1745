"""One schema per stored layer: each column declared once, everything else derived from it.

A ``Layer`` lists its ``Column``s with their type, Vietnamese and English labels, whether anyone
may read them (``public``) or only signed-in staff (personal data), whether an officer may edit
them, the source-file names an import recognises and the parser it runs, and the field name of
exports. The catalogue (feature pages, tiles, queryables), the importer, the registry's accepted
fields, exports and map popups all read these declarations (tipg's ``Column``/``Collection``
model, ``tipg/collections.py``). A new column is one ``Column`` entry plus a migration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from geo.errors import InvalidInput
from geo.values import fold, parse_text

# PostgreSQL type -> JSON Schema type of the served property
_JSON_TYPES = {
    "text": "string",
    "numeric": "number",
    "double precision": "number",
    "integer": "integer",
    "bigint": "integer",
    "boolean": "boolean",
    "date": "string",
}
# PostgreSQL type -> the kind of an export field (geo.exports.Kind)
_EXPORT_KINDS = {
    "text": "str",
    "numeric": "float",
    "double precision": "float",
    "integer": "int",
    "bigint": "int",
    "date": "date",
    "boolean": "str",
}


@dataclass(frozen=True)
class Column:
    """One attribute of a layer.

    ``aliases`` are the source-file column names (folded: no diacritics, lower case) an import
    takes this column from; a column without aliases is not imported. ``stored`` is False for
    a value that exists only on the way in (``owner``, split into ``cooperative`` and
    ``owner_name``) or only on the way out (an export's ``commune_name``). ``popup`` orders the
    column in map popups (None: not shown). ``label_vi`` is the lower-case noun used inside
    sentences ("thiếu cây trồng"); it defaults to the title with a lower-case first letter.
    """

    name: str
    sql_type: str
    title_vi: str
    title_en: str
    parse: Callable[[Any], Any] = parse_text
    aliases: tuple[str, ...] = ()
    required: bool = False
    public: bool = False
    editable: bool = False
    stored: bool = True
    export_name: str | None = None
    popup: int | None = None
    label: str | None = None
    non_negative: bool = False  # negative values are refused ("số hộ không được âm")

    @property
    def imported(self) -> bool:
        return bool(self.aliases)

    @property
    def label_vi(self) -> str:
        return self.label or self.title_vi[:1].lower() + self.title_vi[1:]

    @property
    def type(self) -> str:
        """JSON Schema type of the served value."""
        return _JSON_TYPES[self.sql_type]

    @property
    def format(self) -> str | None:
        return "date" if self.sql_type == "date" else None

    @property
    def export_kind(self) -> str:
        return _EXPORT_KINDS[self.sql_type]

    def refuses(self, value: Any) -> bool:
        """True when a parsed value breaks the column's rule (a negative count)."""
        return self.non_negative and value is not None and value < 0

    def find(self, columns: list[str]) -> str | None:
        """The source column (of ``columns``) this column is read from, if any."""
        folded = {fold(c): c for c in columns}
        for alias in (self.name, *self.aliases):
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
class Layer:
    """A stored layer: its table, its columns, how it is served and how it is imported.

    Only ``public`` columns ever leave the database through the public API: personal data
    (household head names, phones, QR tokens, owners who are persons) is not public, so it
    cannot be selected, filtered or exported by accident.
    """

    id: str
    table: str
    geometry_type: str  # GeoJSON type the collection serves
    title_vi: str
    title_en: str
    description_vi: str
    description_en: str
    columns: tuple[Column, ...]
    id_column: str = "id"
    # Import: the INSERT ... SELECT FROM staging in layers/ingest/sql/ (None: not imported from
    # vector files), columns unique in the table, references, checks on the staged rows.
    sql_file: str | None = None
    unique: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # row -> extra values
    derived_columns: tuple[str, ...] = ()  # stored columns ``derive`` fills
    geometry_required: bool = True
    checks: tuple[RowCheck, ...] = ()
    # Where a row's place comes from when the file does not name it: "commune" (the stored
    # commune boundary holding it, largest overlap for polygons) or "village" (households).
    placed_in: Literal["commune", "village"] | None = None
    # Codes only unique inside their commune (a village file numbers its villages 01, 02 ...):
    # stored as "<commune>-<code>" unless the file already wrote them so.
    scoped_code: bool = False
    # Values an import makes for each new row in bulk rather than per row in the database
    # (a household's QR token): name and SQL type of each, and the maker (rows -> values).
    generated_columns: tuple[tuple[str, str], ...] = ()
    generate: Callable[[int], dict[str, list[Any]]] | None = None
    # Layers of many small polygons (growing areas) are drawn, below this zoom, as one point per
    # tile grid cell with how many there are (``count``) and the sum of ``aggregate_total``.
    aggregate_below_zoom: int | None = None
    aggregate_total: str | None = None

    @property
    def name(self) -> str:
        return self.id

    @property
    def kind(self) -> Literal["polygon", "point"]:
        return "point" if self.geometry_type == "Point" else "polygon"

    @cached_property
    def properties(self) -> tuple[Column, ...]:
        """The public columns: feature pages, tiles, queryables."""
        return tuple(c for c in self.columns if c.public and c.stored)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @cached_property
    def fields(self) -> tuple[Column, ...]:
        """The columns an import reads from a source file."""
        return tuple(c for c in self.columns if c.imported)

    @cached_property
    def editable(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.editable)

    @cached_property
    def exported(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.export_name)

    @cached_property
    def popup_columns(self) -> tuple[Column, ...]:
        shown = [c for c in self.columns if c.popup is not None]
        return tuple(sorted(shown, key=lambda c: c.popup or 0))

    def staging_columns(self) -> list[tuple[str, str]]:
        """(name, SQL type) of an import's staging table: read columns, then derived ones, then
        the commune a placed row is given (when the file has no column for it)."""
        derived = [self.column(n) for n in self.derived_columns]
        cols = [(c.name, c.sql_type) for c in (*self.fields, *derived)]
        if self.placed_in is not None and "commune_code" not in {n for n, _ in cols}:
            cols.append(("commune_code", "text"))
        return cols + list(self.generated_columns)

    @cached_property
    def stored_staging_columns(self) -> tuple[str, ...]:
        """The staging columns that are also columns of the table (what an upsert updates)."""
        names = [c.name for c in (*self.fields, *(self.column(n) for n in self.derived_columns))
                 if c.stored]  # fmt: skip
        if self.placed_in is not None and "commune_code" not in names:
            names.append("commune_code")
        return tuple(names)

    # Last in the class: below this line ``property`` is this method, not the decorator.
    def property(self, name: str) -> Column | None:
        return next((p for p in self.properties if p.name == name), None)


def parse_changes(
    layer: Layer,
    changes: dict[str, Any],
    *,
    not_null: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Parse the attribute changes of one feature with the layer's own parsers.

    Raises InvalidInput naming every field that is unknown, not editable here or malformed.
    """
    editable = {c.name: c for c in layer.editable}
    problems_vi: list[str] = []
    problems_en: list[str] = []
    out: dict[str, Any] = {}
    for key, value in changes.items():
        col = editable.get(key)
        if col is None:
            problems_vi.append(f"không sửa được trường '{key}' ở đây")
            problems_en.append(f"field '{key}' cannot be changed here")
            continue
        try:
            parsed = col.parse(value)
        except ValueError as exc:
            problems_vi.append(f"{col.label_vi}: giá trị '{value}' không hợp lệ ({exc})")
            problems_en.append(f"{key}: {exc}")
            continue
        if parsed is None and (col.required or key in not_null):
            problems_vi.append(f"{col.label_vi} không được để trống")
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
