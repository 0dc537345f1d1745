"""Printable map sheet (phiếu bản đồ vùng trồng): one A4 page per growing area, self-contained HTML.

The boundary is drawn as inline SVG in the province's VN-2000 TM-3 grid (metres, conformal),
at a round scale, with a north arrow turned to true north and a scale bar. The corner table
lists every vertex in WGS84 and in VN-2000 (X = northing, Y = easting, the order Vietnamese
cadastral documents use). Nothing is loaded from elsewhere: no tiles, fonts or scripts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyproj import CRS
from pyproj.enums import TransformDirection
from shapely.geometry.base import BaseGeometry

from geo.crs import (
    declared_epsg,
    meridian_label,
    province_central_meridian,
    transformer_to_wgs84,
    vn2000_tm3_zone,
)
from geo.errors import GeometryError
from geo.exports import STATUS_VI, export_record, format_date_vi, geojson_geometry
from layers.growing_areas import EXPORT_FIELDS

from .sheet_svg import MapFrame, map_svg, vn_number

TITLE = "Phiếu bản đồ vùng trồng"
MAX_CORNER_ROWS = 60  # more would not fit one page; the GeoJSON export has them all
TWO_COLUMNS_FROM = 21  # corner rows from which the table is split in two columns
PAGE_BUDGET_MM = 273.0  # A4 height less 12 mm margins
FIXED_PARTS_MM = 100.0  # title, record table, headings, notes, signatures and some slack
ROW_MM = (4.8, 3.7)  # height of a corner-table row: one column (8.5 pt), two columns (7 pt)
NOTE_MM = 6.0  # the line saying how many corners were left out
MAP_HEIGHT_MM = (50.0, 125.0)
LABELS = {f.key: f.label_vi for f in EXPORT_FIELDS}

ToGrid = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Corner:
    """One vertex (điểm góc) of the boundary, numbered as on the map."""

    number: int
    lon: float
    lat: float
    easting: float
    northing: float


@dataclass(frozen=True)
class Ring:
    """One ring of the boundary: its heading in the table (empty for a lone ring) and corners."""

    label: str
    corners: list[Corner]


# --- numbers and coordinates --------------------------------------------------------------


def to_vn2000(province_name: str) -> tuple[ToGrid, CRS]:
    """WGS84 lon/lat -> VN-2000 TM-3 (easting, northing) of the province, and the zone CRS.

    Runs the project's cached VN-2000 -> WGS84 transformer backwards, so the official
    7-parameter shift (Decision 05/2007/QĐ-BTNMT, EPSG:6960) is applied both ways.
    """
    zone = vn2000_tm3_zone(province_central_meridian(province_name))
    transformer = transformer_to_wgs84(zone)

    def to_grid(lon: float, lat: float) -> tuple[float, float]:
        return transformer.transform(lon, lat, direction=TransformDirection.INVERSE)

    return to_grid, zone


def boundary_rings(geom: BaseGeometry, to_grid: ToGrid) -> list[Ring]:
    """The rings of a (multi)polygon as numbered corners, in the GeoJSON export's order.

    Rings are oriented as RFC 7946 wants (outer ones counter-clockwise) and their closing
    vertex is dropped; numbering runs on across rings.
    """
    oriented = geojson_geometry(geom)
    polygons = list(getattr(oriented, "geoms", [oriented]))
    rings: list[Ring] = []
    number = 1
    for i, polygon in enumerate(polygons, start=1):
        part = f"Phần {i} – " if len(polygons) > 1 else ""
        for j, ring in enumerate([polygon.exterior, *polygon.interiors]):
            label = f"{part}ranh ngoài" if j == 0 else f"{part}lỗ {j}"
            corners = []
            for lon, lat in ring.coords[:-1]:
                easting, northing = to_grid(lon, lat)
                corners.append(Corner(number, lon, lat, easting, northing))
                number += 1
            rings.append(Ring(label, corners))
    if len(rings) == 1:
        rings[0] = Ring("", rings[0].corners)
    return rings


def true_north_degrees(lon: float, lat: float, to_grid: ToGrid) -> float:
    """Angle from grid north to true north, clockwise, in degrees (meridian convergence)."""
    e1, n1 = to_grid(lon, lat)
    e2, n2 = to_grid(lon, lat + 0.01)
    return math.degrees(math.atan2(e2 - e1, n2 - n1))


# --- HTML ---------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _record_rows(record: dict[str, Any], province_name: str) -> list[tuple[str, str]]:
    commune = record["commune_name"] or ""
    if record["commune_code"]:
        commune = f"{commune} (mã {record['commune_code']})".strip()
    area = record["area_ha"]
    status = record["status"]
    return [
        (LABELS["crop"], record["crop"] or "—"),
        (LABELS["area_ha"], vn_number(area, 4) if area is not None else "—"),
        ("Xã", commune or "—"),
        ("Tỉnh", province_name),
        (LABELS["status"], STATUS_VI.get(status, status) if status else "—"),
        (LABELS["issued_on"], format_date_vi(record["issued_on"]) or "—"),
        (LABELS["cooperative"], record["cooperative"] or "—"),
        (LABELS["member_households"], _esc_int(record["member_households"])),
        (LABELS["version"], _esc_int(record["version"])),
    ]


def _esc_int(value: int | None) -> str:
    return "—" if value is None else vn_number(value, 0)


def _record_table(rows: list[tuple[str, str]], status: str | None) -> str:
    cells = []
    for label, value in rows:
        css = (
            ' class="warn"' if label == LABELS["status"] and status not in (None, "active") else ""
        )
        cells.append(f"<th>{_esc(label)}</th><td{css}>{_esc(value)}</td>")
    lines = ["<tr>" + "".join(cells[i : i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
    return '<table class="record">' + "".join(lines) + "</table>"


def _corner_rows(rings: list[Ring], limit: int) -> tuple[list[str], int]:
    """Table rows (ring headings and corners) up to ``limit`` corners; and how many were left out."""
    rows: list[str] = []
    listed = total = 0
    for ring in rings:
        total += len(ring.corners)
        shown = ring.corners[: max(0, limit - listed)]
        if not shown:
            continue
        if ring.label:
            rows.append(f'<tr class="ring"><td colspan="5">{_esc(ring.label)}</td></tr>')
        for c in shown:
            rows.append(
                f"<tr><td>{c.number}</td><td>{vn_number(c.lat, 6, grouping=False)}</td>"
                f"<td>{vn_number(c.lon, 6, grouping=False)}</td>"
                f"<td>{vn_number(c.northing, 2, grouping=False)}</td>"
                f"<td>{vn_number(c.easting, 2, grouping=False)}</td></tr>"
            )
        listed += len(shown)
    return rows, total - listed


def _corner_table(rows: list[str], zone_label: str) -> str:
    head = (
        '<thead><tr><th rowspan="2">Điểm</th><th colspan="2">WGS84 (độ)</th>'
        f'<th colspan="2">{_esc(zone_label)}</th></tr>'
        "<tr><th>Vĩ độ</th><th>Kinh độ</th><th>X – Bắc (m)</th><th>Y – Đông (m)</th></tr></thead>"
    )
    return f'<table class="corners">{head}<tbody>{"".join(rows)}</tbody></table>'


def _corner_section(rings: list[Ring], zone_label: str) -> tuple[str, float]:
    """The corner table(s), and the height they take on paper (mm, estimated)."""
    rows, omitted = _corner_rows(rings, MAX_CORNER_ROWS)
    if len(rows) >= TWO_COLUMNS_FROM:
        half = math.ceil(len(rows) / 2)
        tables = _corner_table(rows[:half], zone_label) + _corner_table(rows[half:], zone_label)
        body, height = f'<div class="columns compact">{tables}</div>', (half + 2) * ROW_MM[1]
    else:
        body, height = _corner_table(rows, zone_label), (len(rows) + 2) * ROW_MM[0]
    if omitted:
        body += (
            f'<p class="note">Còn {omitted} điểm góc không liệt kê ở đây; danh sách đầy đủ có '
            "trong tệp GeoJSON xuất kèm (cùng thứ tự đánh số).</p>"
        )
        height += NOTE_MM
    return body, height


def _map_height_mm(table_mm: float) -> float:
    """What is left of the page for the map once the corner table is laid out."""
    return max(MAP_HEIGHT_MM[0], min(MAP_HEIGHT_MM[1], PAGE_BUDGET_MM - FIXED_PARTS_MM - table_mm))


def _checked(geometry: BaseGeometry | None) -> BaseGeometry:
    if (
        geometry is None
        or geometry.is_empty
        or geometry.geom_type not in ("Polygon", "MultiPolygon")
    ):
        kind = "trống" if geometry is None or geometry.is_empty else geometry.geom_type
        raise GeometryError(
            f"Phiếu bản đồ cần ranh giới vùng trồng dạng vùng (nhận được: {kind}).",
            f"A map sheet needs a polygon boundary (got: {kind}).",
        )
    return geometry


SOIL_ROW_MM = 4.6
SOIL_NOTE_MM = 4.4


def _soil_section(soil: dict[str, Any] | None) -> tuple[str, float]:
    """The soil summary (``layers.soil.field_reports`` of this area) and its height in mm."""
    missing = [p["label_vi"] for p in (soil or {}).get("properties", []) if p.get("unavailable")]
    unread = (
        f'<p class="soil-note">Tạm thời không đọc được ảnh nông hóa: {_esc(", ".join(missing))}.</p>'
        if missing
        else ""
    )
    if not soil or not any(p.get("mean") is not None for p in soil.get("properties", [])):
        return (
            (f"<h2>Nông hóa thổ nhưỡng</h2>{unread}", 8.0 + SOIL_NOTE_MM) if missing else ("", 0.0)
        )
    rows = []
    for p in soil["properties"]:
        if p.get("mean") is None:
            continue
        rel = (p.get("reliability") or {}).get("rmse_text") or "—"
        depth = f"{p['depth_cm']} cm" if p.get("depth_cm") else "—"
        rows.append(
            f"<tr><td>{_esc(p['label_vi'])}</td><td>{_esc(depth)}</td>"
            f"<td>{_esc(p['mean_text'])}</td><td>{_esc(p['min_text'])} – {_esc(p['max_text'])}</td>"
            f"<td>{_esc(p['grade'] or '—')}</td><td>{_esc(rel)}</td></tr>"
        )
    notes = "".join(f"<li>{_esc(n)}</li>" for n in soil.get("note", []))
    html_ = (
        '<h2>Nông hóa thổ nhưỡng</h2><table class="soil"><thead><tr><th>Chỉ tiêu</th>'
        "<th>Tầng đất</th><th>Trung bình</th><th>Thấp nhất – cao nhất</th><th>Cấp</th>"
        "<th>Sai số kiểm định chéo (RMSE)</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + (f'<ul class="soil-note">{notes}</ul>' if notes else "")
        + unread
    )
    notes_mm = SOIL_NOTE_MM * (len(soil.get("note", [])) + bool(missing))
    return html_, 8.0 + SOIL_ROW_MM * (len(rows) + 1) + notes_mm


def render_sheet(
    properties: dict[str, Any],
    geometry: BaseGeometry,
    *,
    province_name: str,
    soil: dict[str, Any] | None = None,
) -> str:
    """The A4 map sheet of one growing area as an HTML page (Vietnamese, print-ready).

    ``geometry`` is the boundary in WGS84 lon/lat; ``province_name`` (pre-2025 province, with
    or without diacritics) chooses the VN-2000 TM-3 zone of the corner table. ``soil`` (this
    area's soil report, as the soil page shows it) adds the soil summary; the map shrinks to
    keep the page one A4.
    """
    geom = _checked(geometry)
    to_grid, zone = to_vn2000(province_name)
    record = export_record(properties, geom, fields=EXPORT_FIELDS)
    rings = boundary_rings(geom, to_grid)
    meridian = meridian_label(province_central_meridian(province_name))
    zone_label = f"VN-2000, múi 3°, KTT {meridian}"
    corners_html, table_mm = _corner_section(rings, zone_label)
    soil_html, soil_mm = _soil_section(soil)
    centre = geom.centroid
    frame = MapFrame(width_mm=180.0, height_mm=_map_height_mm(table_mm + soil_mm))
    numbered = [c for ring in rings for c in ring.corners][:MAX_CORNER_ROWS]
    north = true_north_degrees(centre.x, centre.y, to_grid)
    svg = map_svg(
        [[(c.easting, c.northing) for c in ring.corners] for ring in rings],
        [(c.number, c.easting, c.northing) for c in numbered],
        frame=frame,
        north_degrees=north,
        label=f"Sơ đồ ranh giới vùng trồng {record['code'] or ''}",
    )
    code = record["code"] or "—"
    epsg = declared_epsg(zone)
    return _PAGE.format(
        title=_esc(f"{TITLE} {code}"),
        heading=_esc(TITLE),
        code=_esc(code),
        record=_record_table(_record_rows(record, province_name), record["status"]),
        svg=svg,
        corners=corners_html,
        soil=soil_html,
        crs_note=_esc(
            f"Hệ tọa độ: WGS84 (EPSG:4326) và VN-2000 múi chiếu 3°, kinh tuyến trục {meridian}, "
            f"k = 0,9999 (EPSG:{epsg}); chuyển đổi bằng 7 tham số theo Quyết định 05/2007/QĐ-BTNMT. "
            f"Mũi tên chỉ hướng Bắc thực (lệch {vn_number(north, 2)}° so với trục X lưới)."
        ),
    )


_PAGE = """<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
@page {{ size: A4 portrait; margin: 12mm; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; color: #000; font: 10.5pt/1.3 "Times New Roman", "Liberation Serif", "DejaVu Serif", serif; }}
.sheet {{ width: 186mm; margin: 0 auto; }}
@media screen {{ body {{ background: #ddd; }} .sheet {{ background: #fff; padding: 12mm; width: 210mm; min-height: 297mm; margin: 8mm auto; }} }}
h1 {{ font-size: 15pt; text-align: center; text-transform: uppercase; margin: 0; }}
.code {{ text-align: center; font-size: 13pt; font-weight: bold; margin: 1mm 0 3mm; }}
h2 {{ font-size: 11pt; margin: 3mm 0 1.5mm; }}
table {{ border-collapse: collapse; }}
table.record {{ width: 100%; }}
table.record th {{ text-align: left; font-weight: normal; color: #333; width: 22%; padding: 0.5mm 1.5mm; }}
table.record td {{ font-weight: bold; width: 28%; padding: 0.5mm 1.5mm; }}
td.warn {{ color: #b00020; }}
.map svg {{ display: block; }}
table.corners {{ font-size: 8.5pt; line-height: 1.2; margin-bottom: 1mm; }}
table.corners th, table.corners td {{ border: 0.2mm solid #555; padding: 0.4mm 1.5mm; text-align: right; }}
table.corners th {{ text-align: center; background: #eee; }}
table.corners tr.ring td {{ text-align: left; font-style: italic; }}
.columns {{ display: flex; gap: 4mm; align-items: flex-start; }}
.compact table.corners {{ font-size: 7pt; }}
.compact table.corners th, .compact table.corners td {{ padding: 0.15mm 1mm; }}
.note {{ font-size: 8pt; margin: 1mm 0; }}
.signatures {{ display: flex; justify-content: space-around; text-align: center; margin-top: 2mm; height: 18mm; }}
.signatures span {{ display: block; font-style: italic; font-size: 8.5pt; }}
table, svg, .signatures {{ break-inside: avoid; }}
table.soil {{ font-size: 8.5pt; }}
ul.soil-note {{ margin: 1mm 0 0; padding-left: 5mm; font-size: 8.5pt; }}
</style>
</head>
<body>
<main class="sheet">
<h1>{heading}</h1>
<p class="code">Mã số vùng trồng: {code}</p>
{record}
<h2>Sơ đồ ranh giới</h2>
<div class="map">{svg}</div>
<h2>Tọa độ các điểm góc</h2>
{corners}
<p class="note">{crs_note}</p>
{soil}
<div class="signatures"><div><b>Người lập phiếu</b><span>(Ký, ghi rõ họ tên)</span></div>
<div><b>Xác nhận của UBND xã</b><span>(Ký tên, đóng dấu)</span></div></div>
</main>
</body>
</html>
"""
