"""The printable map sheet: its record, its corner table in WGS84 and VN-2000, its map, one A4 page."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pytest
import shapely
from pyproj import Geod, Transformer
from pyproj.transformer import TransformerGroup
from shapely.geometry import MultiPolygon, Point, Polygon

from geo.crs import transformer_to_wgs84, vn2000_tm3_zone
from geo.errors import CRSError, GeometryError
from geo.exports import ExportFeature
from layers.growing_areas import export_areas as export
from maps.sheet import MAX_CORNER_ROWS, TITLE, render_sheet
from tests.browser import browser_page, page_log, screenshot

PROPS = {
    "code": "VN-10-086-02923-07-24", "crop": "Chè Shan tuyết", "area_ha": 1.2345,
    "cooperative": "HTX Nông nghiệp Gia Phú", "member_households": 1234, "status": "suspended",
    "issued_on": dt.date(2024, 3, 15), "commune_code": "02923", "commune_name": "Gia Phú",
    "version": 2,
}  # fmt: skip
BOUNDARY = Polygon([(104.0612345, 22.3531234), (104.0623456, 22.3530987),
                    (104.0624012, 22.3540123), (104.0611987, 22.3541456)])  # fmt: skip
GEOD = Geod(ellps="WGS84")
ROW = re.compile(
    r"<tr><td>(\d+)</td><td>([\d,]+)</td><td>([\d,]+)</td><td>([\d,]+)</td><td>([\d,]+)</td></tr>"
)


def _official_9208() -> Transformer:
    """WGS84 -> EPSG:9208 through EPSG:6960 ("VN-2000 to WGS 84 (2)"), picked from PROJ's list."""
    group = TransformerGroup("EPSG:4326", "EPSG:9208", always_xy=True)
    return next(t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description)


def _corners(page: str) -> list[tuple[int, float, float, float, float]]:
    """(number, lat, lon, X northing, Y easting) of every row of the corner table."""
    num = lambda text: float(text.replace(",", "."))  # noqa: E731
    return [(int(m[0]), *map(num, m[1:])) for m in ROW.findall(page)]


def _star(n: int, lon: float = 104.0612, lat: float = 22.3531) -> Polygon:
    """An n-vertex wavy ring about 400 m across."""
    return Polygon([
        (lon + 0.002 * math.cos(2 * math.pi * i / n) * (1 + 0.2 * math.sin(10 * math.pi * i / n)),
         lat + 0.0015 * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ])  # fmt: skip


@pytest.fixture(scope="module")
def sheet() -> str:
    return render_sheet(PROPS, BOUNDARY, province_name="Lào Cai")


def test_sheet_shows_the_record_in_vietnamese(sheet: str) -> None:
    assert '<html lang="vi">' in sheet and '<meta charset="utf-8">' in sheet
    for text in (TITLE, PROPS["code"], "Chè Shan tuyết", "HTX Nông nghiệp Gia Phú", "Cây trồng",
                 "Diện tích (ha)", "1,2345", "Gia Phú (mã 02923)", "Lào Cai", "Tạm dừng",
                 "Ngày cấp", "15/03/2024", "1.234", "Tọa độ các điểm góc", "Sơ đồ ranh giới"):  # fmt: skip
        assert text in sheet, text
    assert "@page" in sheet and "size: A4" in sheet


def test_corners_in_wgs84_and_vn2000(sheet: str) -> None:
    corners = _corners(sheet)
    ring = shapely.orient_polygons(BOUNDARY).exterior.coords[:-1]
    assert [c[0] for c in corners] == [1, 2, 3, 4]
    for (_, lat, lon, _, _), (x, y) in zip(corners, ring, strict=True):
        assert (lat, lon) == (round(y, 6), round(x, 6))
    # Corner 1 against PROJ's own EPSG:9208 with the official shift: within 1 cm.
    easting, northing = _official_9208().transform(ring[0][0], ring[0][1])
    _, _, _, x_north, y_east = corners[0]
    assert math.hypot(x_north - northing, y_east - easting) < 0.01
    assert "EPSG:9208" in sheet and "104°45′" in sheet


def test_vn2000_corners_lead_back_to_the_boundary(sheet: str) -> None:
    back = transformer_to_wgs84(vn2000_tm3_zone(104.75))
    ring = shapely.orient_polygons(BOUNDARY).exterior.coords[:-1]
    for (_, _, _, north, east), (lon, lat) in zip(_corners(sheet), ring, strict=True):
        lon2, lat2 = back.transform(east, north)
        assert GEOD.inv(lon, lat, lon2, lat2)[2] < 0.01  # metres


def test_map_is_inline_svg_and_nothing_is_fetched(sheet: str) -> None:
    assert re.search(r'<svg [^>]*width="180\.00mm"', sheet)
    assert re.search(r'<path class="boundary" d="M[\d.]+,[\d.]+ L', sheet)
    lowered = sheet.lower()
    for external in (
        "http:",
        "https:",
        "//",
        "<script",
        "<link",
        "<img",
        "url(",
        "@import",
        "src=",
    ):
        assert external not in lowered.replace("</", ""), external


def test_scale_bar_and_north_arrow_come_from_the_geometry(sheet: str) -> None:
    scale = int(re.search(r"Tỷ lệ 1:([\d.]+)", sheet).group(1).replace(".", ""))
    path = re.search(r'class="boundary" d="([^"]+)"', sheet).group(1)
    xs = [float(x) for x in re.findall(r"([\d.]+),[\d.]+", path)]
    eastings = [c[4] for c in _corners(sheet)]
    drawn_mm, ground_m = max(xs) - min(xs), max(eastings) - min(eastings)
    assert ground_m / (drawn_mm / 1000) == pytest.approx(scale, rel=0.002)
    half_mm = float(re.search(r'<rect x="0" y="0" width="([\d.]+)"', sheet).group(1))
    half_m = int(re.search(r'text-anchor="middle">(\d+) m<', sheet).group(1))
    assert half_mm / 1000 * scale == pytest.approx(half_m, rel=0.01)
    # Grid convergence γ ≈ (λ − λ₀)·sin φ is grid north measured from true north; west of the
    # central meridian it is negative, so true north lies clockwise of grid north by −γ.
    centre = BOUNDARY.centroid
    expected = -(centre.x - 104.75) * math.sin(math.radians(centre.y))
    assert expected > 0
    angle = float(re.search(r"rotate\((-?[\d.]+)\)", sheet).group(1))
    assert angle == pytest.approx(expected, abs=0.01)


def test_text_is_escaped() -> None:
    props = {**PROPS, "code": "<script>alert(1)</script>", "cooperative": 'HTX "A" & <b>B</b>'}
    page = render_sheet(props, BOUNDARY, province_name="lao cai")
    assert "<script>" not in page and "<b>B</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "HTX &quot;A&quot; &amp; &lt;b&gt;B&lt;/b&gt;" in page


def test_many_corners_are_capped_with_a_note() -> None:
    page = render_sheet(PROPS, _star(130), province_name="Lào Cai")
    assert [c[0] for c in _corners(page)] == list(range(1, MAX_CORNER_ROWS + 1))
    assert "Còn 70 điểm góc không liệt kê" in page and "GeoJSON" in page
    assert page.count('class="columns compact"') == 1


def test_corner_numbers_follow_the_geojson_export() -> None:
    """The note sends readers to the GeoJSON export: its vertices come in the same order."""
    geom = _star(70)
    page = render_sheet(PROPS, geom, province_name="Lào Cai")
    exported = json.loads(export([ExportFeature(PROPS, geom)], "geojson", title="x").content)
    ring = exported["features"][0]["geometry"]["coordinates"][0]
    for number, lat, lon, _, _ in _corners(page):
        assert (lat, lon) == (round(ring[number - 1][1], 6), round(ring[number - 1][0], 6))


def test_parts_and_holes_get_their_own_headings() -> None:
    pond = Polygon(
        BOUNDARY.exterior.coords,
        [Point(104.0618, 22.3536).buffer(0.0002, quad_segs=2).exterior.coords],
    )
    far = shapely.affinity.translate(BOUNDARY, 0.003, 0.0)
    page = render_sheet(PROPS, MultiPolygon([pond, far]), province_name="Lào Cai")
    for heading in ("Phần 1 – ranh ngoài", "Phần 1 – lỗ 1", "Phần 2 – ranh ngoài"):
        assert heading in page
    numbers = [c[0] for c in _corners(page)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 8


def test_refuses_unknown_province_and_non_polygons() -> None:
    with pytest.raises(CRSError):
        render_sheet(PROPS, BOUNDARY, province_name="Atlantis")
    with pytest.raises(GeometryError):
        render_sheet(PROPS, Point(104.06, 22.35), province_name="Lào Cai")
    with pytest.raises(GeometryError):
        render_sheet(PROPS, Polygon(), province_name="Lào Cai")


@pytest.mark.browser
@pytest.mark.parametrize("vertices", [4, 20, 21, 60, 130])
def test_chromium_prints_one_a4_page(vertices: int, artifacts: Path) -> None:
    page_html = render_sheet(PROPS, _star(vertices), province_name="Lào Cai")
    with browser_page(width=900, height=1300) as page:
        page.set_content(page_html)
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        log = page_log(page)
        assert not log.blocked and not log.page_errors
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
        if vertices == 20:
            screenshot(page, artifacts / "map_sheet.png")
