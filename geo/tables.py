"""Lists as spreadsheets (bảng tính): CSV a spreadsheet opens with its Vietnamese intact, and
Excel with typed cells. Pure: rows in, bytes out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TABLE_FORMATS: dict[str, tuple[str, str]] = {
    "csv": (".csv", "text/csv; charset=utf-8"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@dataclass(frozen=True)
class TableColumn:
    """One column: the row's key, its heading, and for Excel a number format."""

    key: str
    heading: str
    number_format: str | None = None


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def table_csv(columns: Sequence[TableColumn], rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads "Chè" rather than "ChÃ¨"; dates ISO.

    >>> table_csv([TableColumn("a", "Cây")], [{"a": "Chè"}, {}]).decode("utf-8-sig")
    'Cây\\r\\nChè\\r\\n""\\r\\n'
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def table_xlsx(
    columns: Sequence[TableColumn], rows: Sequence[dict[str, Any]], *, sheet: str
) -> bytes:
    """One sheet named ``sheet`` (at most 31 characters), bold frozen headings, typed cells
    (numbers stay numbers, dates dd/mm/yyyy), columns wide enough for their text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    ws.title = sheet[:31] or "Sheet1"
    ws.append([c.heading for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([_cell(row.get(c.key)) for c in columns])
    for i, column in enumerate(columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        fmt = column.number_format
        widest = len(column.heading)
        for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
            if isinstance(cell.value, dt.date):
                cell.number_format = "dd/mm/yyyy"
            elif fmt and isinstance(cell.value, (int, float)):
                cell.number_format = fmt
            widest = max(widest, len(str(cell.value or "")))
        ws.column_dimensions[letter].width = min(60, widest + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
