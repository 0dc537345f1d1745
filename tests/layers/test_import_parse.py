"""A large file's columns are parsed at once where the parser would return every cell as it is
(geo.values.UNCHANGED); a column with one cell that needs parsing is parsed cell by cell, with
the same values and the same refusals as a small file."""

from __future__ import annotations

from pathlib import Path

from geo.readers import read_table, reproject
from layers.ingest import SPECS
from layers.ingest.result import ImportSummary
from layers.ingest.rows import UNCHANGED_FROM, build_rows
from layers.ingest.text import decode_text


def _rows(path: Path) -> tuple[list[dict], ImportSummary]:
    table = read_table(path)
    summary = ImportSummary(layer="households", source=path.name, features_read=len(table.frame))
    decode_text(table, None)
    geoms, _, _ = reproject(table, None)
    return build_rows(SPECS["households"], table, geoms, summary), summary


def _file(path: Path, n: int, odd: dict[int, tuple[str, str]]) -> Path:
    lines = ["ma_ho,ten_chu_ho,dien_thoai,lon,lat"]
    for i in range(n):
        code, phone = odd.get(i, (f"H{i:05d}", f"09{i:08d}"))
        lines.append(f"{code},Nguyễn Văn Ước,{phone},105.{i:06d},21.5")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_plain_columns_at_once_and_odd_cells_one_by_one(tmp_path: Path) -> None:
    n = UNCHANGED_FROM + 200
    plain, summary = _rows(_file(tmp_path / "a.csv", n, {}))
    assert len(plain) == n and not summary.rejected
    assert plain[7]["code"] == "H00007" and plain[7]["phone"] == "0900000007"
    assert plain[7]["head_name"] == "Nguyễn Văn Ước"
    odd = {3: (" H00003 ", "+84 912 345 678"), 5: ("X" * 41, "0900000005"), 9: ("H00009", "12")}
    rows, summary = _rows(_file(tmp_path / "b.csv", n, odd))
    by_no = {r["row_no"]: r for r in rows}
    assert by_no[4]["code"] == "H00003" and by_no[4]["phone"] == "0912345678"  # stripped, +84
    refused = dict(summary.rejected)
    assert set(refused) == {6, 10}
    assert "40" in refused[6] and "phone" in refused[10]
    # the same cells in a small file (parsed one by one throughout) give the same answers
    small, small_summary = _rows(_file(tmp_path / "c.csv", 20, odd))
    assert {r["row_no"]: r["code"] for r in small} == {
        r["row_no"]: r["code"] for r in rows if r["row_no"] <= 20
    }
    assert dict(small_summary.rejected) == refused
