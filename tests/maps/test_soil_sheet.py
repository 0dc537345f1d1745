"""The printable sheet's soil summary: a table with units and the note, and the map shrinks
so that the page stays one A4."""

from __future__ import annotations

import re

from maps.sheet import render_sheet
from tests.maps.test_sheet import BOUNDARY, PROPS

REPORT = {
    "properties": [
        {"label_vi": "Độ chua pH(KCl)", "depth_cm": "0-20", "mean": 4.3, "mean_text": "pH 4,30",
         "min_text": "pH 4,10", "max_text": "pH 4,50", "grade": "rất chua",
         "reliability": {"rmse_text": "pH 0,10"}},
        {"label_vi": "Chất hữu cơ (OM)", "depth_cm": None, "mean": None},
    ],
    "note": ["Đất rất chua (pH 4,30): …"],
}  # fmt: skip


def _map_height(page: str) -> float:
    return float(re.search(r'<svg[^>]*height="([0-9.]+)mm"', page).group(1))


def test_sheet_shows_soil_summary_with_units_and_keeps_one_page() -> None:
    plain = render_sheet(PROPS, BOUNDARY, province_name="Lào Cai")
    with_soil = render_sheet(PROPS, BOUNDARY, province_name="Lào Cai", soil=REPORT)
    assert "Nông hóa thổ nhưỡng" not in plain
    assert "<h2>Nông hóa thổ nhưỡng</h2>" in with_soil
    assert "<td>pH 4,30</td>" in with_soil and "pH 4,10 – pH 4,50" in with_soil
    assert "<td>0-20 cm</td>" in with_soil and "<td>pH 0,10</td>" in with_soil
    assert "Đất rất chua (pH 4,30)" in with_soil
    assert "Chất hữu cơ" not in with_soil  # a property without data is left out, not "None"
    assert _map_height(with_soil) < _map_height(plain)
