"""Coverage reports (báo cáo phủ sóng, tiêu chí 8): the indicator table per village and commune
as CSV and XLSX with Vietnamese headings, and a one-page printable summary of a commune (PDF)
with its villages' map and the criterion-8 verdicts, as a province files it.

CSV is written for Vietnamese spreadsheets: UTF-8 with BOM, ``;`` between fields, numbers as
1.234,5. XLSX keeps numbers as numbers (a display format gives one decimal)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from typing import Any

from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .coverage import SHARE_CLASSES
from .coverage_text import STRINGS
from .qr import font_path

STATUS = {
    "covered": "Đã phủ",
    "partly": "Phủ một phần",
    "not_covered": "Chưa phủ",
    None: "Chưa có hộ",
}
VERDICT = {True: "Đạt", False: "Chưa đạt", None: "Không đánh giá"}
TECHNOLOGY = {"fibre": "cáp quang"}

# (heading, key in a village row of the indicators, kind) — kind: text, int, pct, flag.
VILLAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Mã xã", "commune_code", "text"),
    ("Mã thôn", "code", "text"),
    ("Tên thôn", "name", "text"),
    ("Số hộ", "households", "int"),
    ("Số hộ có sóng (theo lựa chọn)", "served", "int"),
    ("Số hộ không có sóng", "unserved", "int"),
    ("Tỷ lệ hộ có sóng (%)", "served_pct", "pct"),
    ("Trạng thái phủ sóng", "status", "status"),
    ("Số hộ có 4G/5G", "mobile_broadband_served", "int"),
    ("Tỷ lệ hộ có 4G/5G (%)", "mobile_broadband_pct", "pct"),
    ("Thôn lõm sóng 4G", "dead_zone", "flag"),
    ("Số hộ có cáp quang đi qua", "fibre_passed", "int"),
    ("Tỷ lệ hộ có cáp quang đi qua (%)", "fibre_passed_pct", "pct"),
    ("Số hộ thuê bao cáp quang", "fibre_subscriptions", "int"),
    ("Tỷ lệ hộ thuê bao cáp quang (%)", "fibre_subscription_pct", "pct"),
)
COMMUNE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Mã xã", "code", "text"),
    ("Tên xã", "name", "text"),
    ("Số thôn có hộ", "villages", "int"),
    ("Số hộ", "households", "int"),
    ("Số hộ có sóng (theo lựa chọn)", "served", "int"),
    ("Tỷ lệ hộ có sóng (%)", "served_pct", "pct"),
    ("Số thôn đã phủ", "villages_covered", "int"),
    ("Số thôn phủ một phần", "villages_partly_covered", "int"),
    ("Số thôn chưa phủ", "villages_not_covered", "int"),
    ("Số thôn có băng rộng di động", "villages_with_mobile_broadband", "int"),
    ("Số thôn có cáp quang", "villages_with_fibre", "int"),
    ("Số hộ thuê bao cáp quang", "fibre_subscriptions", "int"),
    ("Số thôn lõm sóng 4G", "dead_zones", "int"),
)


def vi_number(value: float | int | None, decimals: int = 1) -> str:
    """A number as Vietnamese write it: 1.234,5 (thousands with '.', decimals with ',').

    >>> vi_number(1234.5), vi_number(2626), vi_number(100.0), vi_number(None)
    ('1.234,5', '2.626', '100', '')
    """
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        text = f"{int(round(value)):,}"
    else:
        text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def selection_line(result: dict[str, Any]) -> str:
    """The selection in words, for a report's heading."""
    sel = result["selection"]
    tech = TECHNOLOGY.get(sel["technology"], sel["technology"])
    parts = [
        f"Công nghệ: {tech} trở lên"
        if sel["technology"] in ("2G", "3G", "4G")
        else f"Công nghệ: {tech}"
    ]
    parts.append(f"Nhà mạng: {sel['operator'] or 'tất cả'}")
    parts.append(f"Cấp dịch vụ: {sel['tier'] or 'mọi cấp'}")
    day = dt.date.fromisoformat(result["as_of"]).strftime("%d/%m/%Y")
    parts.append(f"Tính đến ngày: {day}")
    return "; ".join(parts)


def _commune_row(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "dead_zones": len(c["villages_without_4g_list"])}


def _cell(value: Any, kind: str) -> Any:
    if kind == "status":
        return STATUS.get(value, value)
    if kind == "flag":
        return "" if value is None else ("Có" if value else "Không")
    return value


def village_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Villages with households, then those without (listed, not counted), as report rows."""
    empty = [
        {**v, "households": 0, "status": None, "dead_zone": None}
        for v in result["villages_without_households"]
    ]
    return [*result["villages"], *empty]


def indicators_csv(result: dict[str, Any]) -> bytes:
    """The villages' table, then the communes' totals and criterion-8 verdicts, as CSV."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["Báo cáo phủ sóng viễn thông theo thôn (tiêu chí 8)"])
    w.writerow([selection_line(result)])
    w.writerow([])
    w.writerow([h for h, _, _ in VILLAGE_COLUMNS])
    for v in village_rows(result):
        w.writerow([_csv_value(v.get(k), kind) for _, k, kind in VILLAGE_COLUMNS])
    w.writerow([])
    w.writerow([h for h, _, _ in COMMUNE_COLUMNS])
    for c in result["communes"]:
        row = _commune_row(c)
        w.writerow([_csv_value(row.get(k), kind) for _, k, kind in COMMUNE_COLUMNS])
    w.writerow([])
    w.writerow(["Mã xã", "Chỉ tiêu tiêu chí 8", "Giá trị", "So sánh", "Mục tiêu", "Đánh giá"])
    for c in result["communes"]:
        for t in c["criterion8"]:
            w.writerow([c["code"], t["label_vi"], vi_number(t["value"]), t["comparison"],
                        vi_number(t["target"]), VERDICT[t["met"]]])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any, kind: str) -> str:
    if kind in ("int", "pct"):
        return vi_number(value)
    cell = _cell(value, kind)
    return "" if cell is None else str(cell)


HEAD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDE8DD")


def _sheet(wb: Workbook, title: str, heading: str, columns, rows, *, first: bool) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([])
    ws.append([h for h, _, _ in columns])
    for cell in ws[3]:
        cell.font, cell.fill = HEAD, HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append([_cell(row.get(k), kind) for _, k, kind in columns])
    for i, (h, _, kind) in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(10, min(28, len(h) * 0.9))
        fmt = {"int": "#,##0", "pct": "0.0"}.get(kind)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                cell.number_format = fmt
    ws.freeze_panes = "A4"


def indicators_xlsx(result: dict[str, Any]) -> bytes:
    """Three sheets: villages (Thôn), communes (Xã) and criterion 8 (Tiêu chí 8); numbers stay
    numbers, shown with one decimal for shares."""
    wb = Workbook()
    line = selection_line(result)
    _sheet(wb, "Thôn", f"Phủ sóng theo thôn. {line}", VILLAGE_COLUMNS, village_rows(result),
           first=True)  # fmt: skip
    _sheet(wb, "Xã", f"Phủ sóng theo xã. {line}", COMMUNE_COLUMNS,
           [_commune_row(c) for c in result["communes"]], first=False)  # fmt: skip
    verdicts = [
        {"commune": c["code"], "label": t["label_vi"], "value": t["value"],
         "comparison": t["comparison"], "target": t["target"], "met": VERDICT[t["met"]],
         "source": t["source"]}
        for c in result["communes"] for t in c["criterion8"]
    ]  # fmt: skip
    columns = (
        ("Mã xã", "commune", "text"), ("Chỉ tiêu", "label", "text"), ("Giá trị", "value", "pct"),
        ("So sánh", "comparison", "text"), ("Mục tiêu", "target", "pct"),
        ("Đánh giá", "met", "text"), ("Căn cứ", "source", "text"),
    )  # fmt: skip
    _sheet(wb, "Tiêu chí 8", "Tiêu chí 8 (4G/5G và cáp quang của mọi nhà mạng)", columns,
           verdicts, first=False)  # fmt: skip
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- the one-page PDF ---------------------------------------------------------------------


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _share_colour(pct: float | None) -> tuple[int, int, int]:
    if pct is None:
        return (190, 190, 190)
    for bound, colour in SHARE_CLASSES:
        if pct < bound:
            return _hex(colour)
    return _hex(SHARE_CLASSES[-1][1])


def _draw_map(pdf: FPDF, outlines: Sequence[dict[str, Any]], shares: dict[str, float | None],
              x: float, y: float, w: float, h: float) -> None:  # fmt: skip
    rings = [
        (f["code"], ring)
        for f in outlines
        for poly in (
            f["geometry"]["coordinates"]
            if f["geometry"]["type"] == "MultiPolygon"
            else [f["geometry"]["coordinates"]]
        )  # fmt: skip
        for ring in poly[:1]
    ]
    if not rings:
        return
    xs = [p[0] for _, r in rings for p in r]
    ys = [p[1] for _, r in rings for p in r]
    # Equirectangular at the commune's latitude: at a commune's size the error is negligible.
    k = math.cos(math.radians((min(ys) + max(ys)) / 2))
    span_x, span_y = (max(xs) - min(xs)) * k or 1e-9, (max(ys) - min(ys)) or 1e-9
    scale = min(w / span_x, h / span_y)
    ox = x + (w - span_x * scale) / 2
    oy = y + (h - span_y * scale) / 2
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.2)
    for code, ring in rings:
        pdf.set_fill_color(*_share_colour(shares.get(code)))
        pts = [(ox + (px - min(xs)) * k * scale, oy + (max(ys) - py) * scale) for px, py in ring]
        pdf.polygon(pts, style="DF")


def commune_pdf(result: dict[str, Any], outlines: Sequence[dict[str, Any]],
                *, commune_name: str, province_name: str) -> bytes:  # fmt: skip
    """One A4 page: the heading, the villages' map shaded by % of households served, the
    criterion-8 verdicts, the dead-zone villages and the villages' table."""
    c = result["communes"][0]
    s = STRINGS["vi"]
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(12, 10, 12)
    pdf.add_font("DejaVu", "", str(font_path("regular")))
    pdf.add_font("DejaVu", "B", str(font_path("bold")))
    pdf.add_page()
    pdf.set_title(f"Báo cáo phủ sóng – Xã {commune_name}")
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 7, f"Báo cáo phủ sóng viễn thông – tiêu chí 8: xã {commune_name}, {province_name}",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font("DejaVu", "", 8.5)
    pdf.multi_cell(0, 4.2, f"Mã xã {c['code']}. {selection_line(result)}.", new_x="LMARGIN",
                   new_y="NEXT")  # fmt: skip
    pdf.cell(0, 5, s["servedLine"].format(served=vi_number(c["served"]),
             households=vi_number(c["households"]), pct=vi_number(c["served_pct"])),
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    top = pdf.get_y() + 1
    shares = {v["code"]: v["served_pct"] for v in result["villages"]}
    _draw_map(pdf, outlines, shares, 12, top, 88, 88)
    # Legend under the map.
    ly = top + 90
    pdf.set_font("DejaVu", "", 7.5)
    lower = 0.0
    for bound, colour in SHARE_CLASSES:
        pdf.set_fill_color(*_hex(colour))
        pdf.rect(12, ly, 4, 3, style="DF")
        label = (
            f"{vi_number(lower)}–{vi_number(min(bound, 100))} %"
            if bound <= 100
            else f"≥ {vi_number(lower)} %"
        )
        pdf.text(17, ly + 2.6, label + " hộ có sóng")
        ly += 4
        lower = bound
    pdf.set_fill_color(190, 190, 190)
    pdf.rect(12, ly, 4, 3, style="DF")
    pdf.text(17, ly + 2.6, "Thôn chưa có hộ (không tính)")

    # Criterion 8, right of the map.
    x0, y = 106, top
    pdf.set_xy(x0, y)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(92, 6, "Tiêu chí 8 (4G/5G, cáp quang, mọi nhà mạng)", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    for t in c["criterion8"]:
        pct = t["indicator"].endswith("_pct")
        value = "—" if t["value"] is None else vi_number(t["value"]) + (" %" if pct else "")
        target = "—" if t["target"] is None else (
            ("≥ " if t["comparison"] == ">=" else "≤ ") + vi_number(t["target"]) + (" %" if pct else ""))  # fmt: skip
        pdf.set_x(x0)
        pdf.multi_cell(50, 4, t["label_vi"], new_x="RIGHT", new_y="TOP")
        pdf.cell(14, 4, value, align="R")
        pdf.cell(13, 4, target, align="R")
        pdf.set_font("DejaVu", "B", 8)
        pdf.cell(15, 4, VERDICT[t["met"]], align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)
        pdf.set_y(max(pdf.get_y(), y) + 4.5)
        y = pdf.get_y()
    pdf.set_xy(x0, y + 2)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(92, 6, "Thôn lõm sóng 4G", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    dead = c["villages_without_4g_list"] or []
    if not dead:
        pdf.set_x(x0)
        pdf.cell(92, 4.5, s["deadZonesNone"], new_x="LEFT", new_y="NEXT")
    for v in dead:
        reason = s["reason_" + v["reason"]].format(pct=vi_number(v["mobile_broadband_pct"]))
        pdf.set_x(x0)
        pdf.multi_cell(92, 4.2, "• " + s["deadZoneLine"].format(
            name=v["name"], reason=reason, unserved=vi_number(v["unserved"]),
            households=vi_number(v["households"])), new_x="LEFT", new_y="NEXT")  # fmt: skip

    # The villages' table, across the page under the map.
    pdf.set_xy(12, max(ly + 8, pdf.get_y() + 4))
    cols = (("Thôn", 34, "name"), ("Số hộ", 14, "households"), ("Có sóng", 15, "served"),
            ("% có sóng", 16, "served_pct"), ("Trạng thái", 24, "status"),
            ("% có 4G/5G", 17, "mobile_broadband_pct"), ("Lõm sóng", 15, "dead_zone"),
            ("Thuê bao cáp quang", 29, "fibre_subscriptions"),
            ("% thuê bao", 22, "fibre_subscription_pct"))  # fmt: skip
    pdf.set_font("DejaVu", "B", 7.5)
    pdf.set_fill_color(221, 232, 221)
    for head, width, _ in cols:
        pdf.cell(width, 5, head, border=1, fill=True, align="C")
    pdf.ln()
    pdf.set_font("DejaVu", "", 7.5)
    rows = village_rows(result)
    height = min(4.6, (285 - pdf.get_y()) / max(len(rows), 1))
    for v in rows:
        for _, width, key in cols:
            value = v.get(key)
            if key == "status":
                text = STATUS.get(value, "")
            elif key == "dead_zone":
                text = "" if value is None else ("Có" if value else "Không")
            elif isinstance(value, (int, float)):
                text = vi_number(value)
            else:
                text = "" if value is None else str(value)
            pdf.cell(width, height, text, border=1, align="L" if key in ("name", "status") else "R")
        pdf.ln()
    pdf.set_font("DejaVu", "", 6.5)
    pdf.set_xy(12, 289)
    made = dt.date.today().strftime("%d/%m/%Y")
    rule = result["rule"]
    pdf.cell(0, 3, f"Lập ngày {made} từ bản đồ số nông nghiệp AgriMap. Thôn có ít nhất "
             f"{vi_number(100 * rule['covered_share'])} % hộ có sóng là đã phủ; thôn lõm sóng: dưới "
             f"{vi_number(100 * rule['dead_zone_share'])} % hộ có 4G/5G.")  # fmt: skip
    return bytes(pdf.output())
