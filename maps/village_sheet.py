"""Printable QR sheet of a village (phiếu mã QR hộ gia đình): A4 pages of cards to cut out.

Each card has the household's QR code, its label, the village and the typeable code, inside
dashed cut lines; twelve cards (3 × 4) to a page. Two outputs with the same layout: HTML with
print CSS and inline SVG codes (nothing loaded from elsewhere), and PDF (fpdf2, DejaVu Sans
embedded so Vietnamese prints on any printer, PNG codes).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fpdf import FPDF

from .qr import QUIET_ZONE, estimated_measure, font_path, qr_code, qr_symbol_svg, wrap_to_fit

COLUMNS, ROWS = 3, 4
PER_PAGE = COLUMNS * ROWS
PAGE_W, PAGE_H, MARGIN, HEADER_H = 210.0, 297.0, 8.0, 10.0  # mm
CARD_W = (PAGE_W - 2 * MARGIN) / COLUMNS  # 64.7 mm
CARD_H = (PAGE_H - 2 * MARGIN - HEADER_H) / ROWS  # 67.75 mm
QR_MM = 46.0  # 45 modules (version 5 + quiet zone) → 1 mm a module
PAD_TOP, PAD_SIDE = 3.0, 2.0  # mm inside a card
# (font size pt, style) of the three text lines under a code
# The typeable code comes first and largest: it is what a person types at /q when the phone
# cannot scan (the label is often the household's own number, GP-01-0001, which is not it).
TEXT_STYLES = {"code": (13.0, "mono"), "label": (8.5, "bold"), "village": (7.5, "regular")}
MAX_LINES = {"code": 1, "label": 2, "village": 1}  # more would run past the cut line
PT = 25.4 / 72  # mm per point
CUT_NOTE = "✂ Cắt theo đường nét đứt"


def lookup_note(entries: Sequence[SheetEntry]) -> str:
    """Where to type a code that cannot be scanned, from the codes' own URL (their /q page).

    >>> lookup_note([SheetEntry("https://agrimap.example.vn/q/K7QX93MAR2TD5Y", "", "")])
    'Không quét được? Nhập mã in to dưới mã QR tại agrimap.example.vn/q'
    >>> lookup_note([])
    ''
    """
    if not entries:
        return ""
    where = entries[0].url.split("://", 1)[-1].rsplit("/", 1)[0]
    return f"Không quét được? Nhập mã in to dưới mã QR tại {where}"


@dataclass(frozen=True)
class SheetEntry:
    """One household on the sheet: the URL its QR code opens, its label, its typeable code."""

    url: str
    label: str
    token_display: str


def village_title(village_name: str) -> str:
    """The village as people say it, "Thôn …" unless the name already says so.

    >>> village_title("Cóc Sa"), village_title("Thôn Làng Mới"), village_title("")
    ('Thôn Cóc Sa', 'Thôn Làng Mới', 'Thôn')
    """
    name = " ".join(village_name.split())
    return name if name.lower().startswith("thôn ") else f"Thôn {name}".strip()


def commune_title(commune_name: str) -> str:
    """The commune as people say it, "Xã …" unless it names its own kind of unit; "" if none.

    >>> commune_title("Gia Phú"), commune_title("Phường Cam Đường"), commune_title(" ")
    ('Xã Gia Phú', 'Phường Cam Đường', '')
    """
    name = " ".join(commune_name.split())
    units = ("xã ", "phường ", "thị trấn ", "đặc khu ")
    if not name or name.lower().startswith(units):
        return name
    return f"Xã {name}"


def sheet_title(village_name: str) -> str:
    """The title printed on every page and used as the document title."""
    return f"Mã QR hộ gia đình – {village_title(village_name)}"


def page_heading(village_name: str, commune_name: str) -> str:
    """The title with the commune, printed at the top of every page.

    >>> page_heading("Cóc Sa", "Gia Phú"), page_heading("Cóc Sa", "")
    ('Mã QR hộ gia đình – Thôn Cóc Sa, Xã Gia Phú', 'Mã QR hộ gia đình – Thôn Cóc Sa')
    """
    commune = commune_title(commune_name)
    return sheet_title(village_name) + (f", {commune}" if commune else "")


def pages(entries: Sequence[SheetEntry]) -> Iterator[Sequence[SheetEntry]]:
    """The entries in page-sized slices of ``PER_PAGE`` (none for no entries)."""
    for start in range(0, len(entries), PER_PAGE):
        yield entries[start : start + PER_PAGE]


def cards_in_row(count: int, row: int) -> int:
    """How many of ``count`` cards, filled row by row, stand in ``row`` (0 outside the grid).

    >>> [cards_in_row(8, r) for r in range(-1, 5)]
    [0, 3, 3, 2, 0, 0]
    """
    return min(COLUMNS, max(0, count - COLUMNS * row)) if row >= 0 else 0


def cut_lines(count: int) -> list[tuple[float, float, float, float]]:
    """Dashed cut lines around ``count`` cards, in card units (x0, y0, x1, y1), each drawn once.

    A partly filled last row gets lines only round its cards.

    >>> cut_lines(2)
    [(0, 0, 2, 0), (0, 1, 2, 1), (0, 0, 0, 1), (1, 0, 1, 1), (2, 0, 2, 1)]
    >>> cut_lines(0)
    []
    """
    rows = math.ceil(count / COLUMNS)
    if rows == 0:
        return []
    lines = []
    for r in range(rows + 1):
        span = max(cards_in_row(count, r - 1), cards_in_row(count, r))
        lines.append((0, r, span, r))
    for c in range(COLUMNS + 1):
        depth = sum(1 for r in range(rows) if cards_in_row(count, r) >= max(c, 1))
        if depth:
            lines.append((c, 0, c, depth))
    return lines


# --- HTML ------------------------------------------------------------------------------------

CSS = f"""
@page {{ size: A4; margin: {MARGIN}mm; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; color: #000; font-family: 'DejaVu Sans', 'Noto Sans', Arial, sans-serif; }}
.page {{ width: {PAGE_W - 2 * MARGIN}mm; height: {PAGE_H - 2 * MARGIN}mm; overflow: hidden;
  break-after: page; }}
.page:last-child {{ break-after: auto; }}
header {{ height: {HEADER_H}mm; display: flex; justify-content: space-between;
  align-items: baseline; flex-wrap: wrap; gap: 0 4mm; font-size: 9pt; }}
header h1 {{ font-size: 11pt; margin: 0; }}
header .lookup {{ flex-basis: 100%; font-size: 7pt; }}
.grid {{ display: grid; grid-template-columns: repeat({COLUMNS}, {CARD_W:.2f}mm);
  grid-auto-rows: {CARD_H:.2f}mm; }}
.card {{ border: 0 dashed #777; border-width: 0 0.3mm 0.3mm 0; text-align: center;
  padding: {PAD_TOP}mm {PAD_SIDE}mm 0; overflow: hidden; break-inside: avoid; }}
.card:nth-child(-n+{COLUMNS}) {{ border-top-width: 0.3mm; }}
.card:nth-child({COLUMNS}n+1) {{ border-left-width: 0.3mm; }}
.card svg {{ display: block; width: {QR_MM}mm; height: {QR_MM}mm; margin: 0 auto 1.5mm; }}
.code {{ font: bold 13pt 'DejaVu Sans Mono', 'Noto Sans Mono', Consolas, monospace;
  letter-spacing: 0.02em; white-space: nowrap; }}
.label {{ font-weight: bold; font-size: 8.5pt; line-height: 1.2; max-height: 2.4em;
  overflow: hidden; text-wrap: balance; margin-top: 0.6mm; }}
.village {{ font-size: 7.5pt; margin-top: 0.3mm; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
@media screen {{
  body {{ background: #ccc; }}
  .page {{ box-sizing: content-box; padding: {MARGIN}mm; margin: 4mm auto; background: #fff; }}
}}
"""


def _label_style(label: str) -> str:
    """An inline font size for a label too long for two lines at 9 pt ("" when it fits)."""
    estimate = estimated_measure("bold")
    size, _ = wrap_to_fit(
        label, CARD_W - 2 * PAD_SIDE, TEXT_STYLES["label"][0],
        lambda s, pt: estimate(s, pt * PT), max_lines=MAX_LINES["label"],
    )  # fmt: skip
    return "" if size >= TEXT_STYLES["label"][0] else f' style="font-size: {size:.1f}pt"'


def _card_html(entry: SheetEntry, village: str) -> str:
    """One card: inline SVG code, then label, village and typeable code (all escaped)."""
    return (
        '<div class="card">'
        + qr_symbol_svg(entry.url, standalone=False)
        + f'<div class="code">{html.escape(entry.token_display)}</div>'
        + f'<div class="label"{_label_style(entry.label)}>{html.escape(entry.label)}</div>'
        + f'<div class="village">{html.escape(village)}</div></div>'
    )


def village_sheet_html(village_name: str, commune_name: str, entries: list[SheetEntry]) -> str:
    """A self-contained HTML document of the village's cards, paginated for A4 print.

    No scripts, stylesheets, fonts or images are fetched: the codes are inline SVG. With no
    entries the one page says so, so that an empty village still prints something sensible.
    """
    heading = html.escape(page_heading(village_name, commune_name))
    chunks = list(pages(entries)) or [[]]
    body = []
    for number, chunk in enumerate(chunks, start=1):
        cards = "".join(_card_html(e, village_title(village_name)) for e in chunk)
        body.append(
            f'<section class="page"><header><h1>{heading}</h1>'
            f"<span>{CUT_NOTE} · Trang {number}/{len(chunks)}</span>"
            f'<span class="lookup">{html.escape(lookup_note(entries))}</span></header>'
            f'<div class="grid">{cards or "<p>Chưa có hộ nào có mã QR.</p>"}</div></section>'
        )
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{html.escape(sheet_title(village_name))}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )


# --- PDF -------------------------------------------------------------------------------------


def _new_pdf(title: str) -> FPDF:
    """An A4 document with DejaVu Sans (regular, bold) and DejaVu Sans Mono Bold embedded."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font("DejaVu", "", str(font_path("regular")))
    pdf.add_font("DejaVu", "B", str(font_path("bold")))
    pdf.add_font("DejaVuMono", "B", str(font_path("mono")))
    pdf.set_title(title)
    pdf.set_lang("vi")
    pdf.set_creator("AgriMap")
    return pdf


def _use_font(pdf: FPDF, style: str, size_pt: float) -> None:
    family, weight = {
        "bold": ("DejaVu", "B"),
        "regular": ("DejaVu", ""),
        "mono": ("DejaVuMono", "B"),
    }[style]
    pdf.set_font(family, weight, size_pt)


def _qr_vector(pdf: FPDF, url: str, x: float, y: float) -> None:
    """The QR symbol as filled rectangles, QR_MM wide with its quiet zone, top left at (x, y) mm.

    Vectors print sharp at any printer resolution and cost no image encoding (PNG images took
    8 ms a card: most of a 150-household sheet's time). One path per code in module units,
    placed by one transformation matrix: fpdf2's rect() per run cost 0.3 s for 150 codes.
    """
    qr = qr_code(url)
    module = QR_MM / qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    left, top = x + QUIET_ZONE * module, y + QUIET_ZONE * module
    k = pdf.k  # points per mm; PDF y runs upwards from the bottom of the page
    place = f"{module * k:.4f} 0 0 {-module * k:.4f} {left * k:.3f} {(pdf.h - top) * k:.3f} cm"
    path = " ".join(f"{c} {r} {n} 1 re" for c, r, n in qr.runs())
    pdf._out(f"q 0 g {place} {path} f Q")  # noqa: SLF001


def _card_pdf(pdf: FPDF, entry: SheetEntry, village: str, x0: float, y0: float) -> None:
    """Draw one card whose top left corner is at (x0, y0) mm."""
    _qr_vector(pdf, entry.url, x0 + (CARD_W - QR_MM) / 2, y0 + PAD_TOP)
    y = y0 + PAD_TOP + QR_MM + 1.0
    width = CARD_W - 2 * PAD_SIDE
    for kind, text in (("code", entry.token_display), ("label", entry.label), ("village", village)):
        base, style = TEXT_STYLES[kind]

        def measure(s: str, size: float, style: str = style) -> float:
            _use_font(pdf, style, size)
            return pdf.get_string_width(s)

        size, lines = wrap_to_fit(text, width, base, measure, max_lines=MAX_LINES[kind])
        for line in lines:
            _use_font(pdf, style, size)
            pdf.set_xy(x0 + PAD_SIDE, y)
            pdf.cell(width, size * PT * 1.25, line, align="C")
            y += size * PT * 1.25


def village_sheet_pdf(village_name: str, commune_name: str, entries: list[SheetEntry]) -> bytes:
    """The same sheet as :func:`village_sheet_html`, as a PDF (one page per 12 households).

    Raises ``maps.qr.FontMissing`` when DejaVu Sans is not installed.
    """
    village = village_title(village_name)
    pdf = _new_pdf(sheet_title(village_name))
    chunks = list(pages(entries)) or [[]]
    for number, chunk in enumerate(chunks, start=1):
        pdf.add_page()
        _use_font(pdf, "bold", 11)
        pdf.set_xy(MARGIN, MARGIN)
        pdf.cell(0, 6, page_heading(village_name, commune_name))
        _use_font(pdf, "regular", 9)
        pdf.set_xy(MARGIN, MARGIN)
        pdf.cell(0, 6, f"{CUT_NOTE} · Trang {number}/{len(chunks)}", align="R")
        _use_font(pdf, "regular", 7)
        pdf.set_xy(MARGIN, MARGIN + 5.6)
        pdf.cell(0, 3.5, lookup_note(entries))
        top = MARGIN + HEADER_H
        if not chunk:
            pdf.set_xy(MARGIN, top)
            pdf.cell(0, 6, "Chưa có hộ nào có mã QR.")
        for k, entry in enumerate(chunk):
            row, col = divmod(k, COLUMNS)
            _card_pdf(pdf, entry, village, MARGIN + col * CARD_W, top + row * CARD_H)
        pdf.set_draw_color(119)
        pdf.set_line_width(0.3)
        with pdf.local_context():
            pdf.set_dash_pattern(dash=2.0, gap=1.5)
            for x0, y0, x1, y1 in cut_lines(len(chunk)):
                pdf.line(
                    MARGIN + x0 * CARD_W, top + y0 * CARD_H, MARGIN + x1 * CARD_W, top + y1 * CARD_H
                )
    return bytes(pdf.output())
