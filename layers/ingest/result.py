"""What an import reports (its summary, progress callback) and the refusal it raises: shared by
the readers, the row checks, the write and the raster import, so none of them imports another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from geo.errors import InvalidInput

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
    # Which source column fed which field ({"name": "TEN_THON"}), and how it was chosen.
    columns: dict[str, str] = field(default_factory=dict)
    mapped: dict[str, str] = field(default_factory=dict)  # given by --map
    coordinates_note: str = ""  # which columns were read as easting/northing (CSV, Excel)
    place_note: str = ""  # where the rows' commune or village came from
    mode: str = "refuse"
    updated: int = 0  # rows that were stored already and changed (upsert, replace)
    unchanged: int = 0  # rows stored already and equal (or skipped by append)
    removed: int = 0  # stored rows of the file's communes that the file no longer has (replace)
    # Each refused row's reasons as (Vietnamese, English) pairs, for pages in either language
    # (``rejected`` holds them joined, "vi / en; vi / en").
    reasons: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


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
