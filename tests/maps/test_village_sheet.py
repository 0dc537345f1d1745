"""The printable village QR sheet: one card per household, 12 to an A4 page, Vietnamese text
that survives into the PDF, codes that decode, and nothing fetched from elsewhere.

Checks use pypdf (page count, text, embedded fonts and images) and zbarimg. Poppler's
``pdftoppm``, where installed, also renders a whole page to check the codes as printed; the
HTML sheet is always printed and photographed by Chromium (browser tests)."""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from geo.qrtoken import ALPHABET, check_character, display
from maps.village_sheet import (
    CARD_H,
    CARD_W,
    COLUMNS,
    HEADER_H,
    MARGIN,
    PAGE_W,
    PER_PAGE,
    TEXT_STYLES,
    SheetEntry,
    commune_title,
    cut_lines,
    village_sheet_html,
    village_sheet_pdf,
    village_title,
)
from tests.browser import browser_page, page_log

LABELS = (
    "Hộ Nguyễn Văn Ước", "Hộ Trần Thị Ánh Tuyết", "Nhà văn hoá thôn", "Hộ Đặng Hữu Lộc",
    "Hộ Phạm Thị Hường", "Hộ Lý A Sử", "Hộ Hoàng Ngọc Quế", "Hộ Vũ Đức Thắng",
)  # fmt: skip
NO_EXTERNAL = re.compile(r"https?:|//|\bsrc\s*=|\bhref\s*=|url\(|@import", re.I)


def make_entries(n: int, seed: int = 2022) -> list[SheetEntry]:
    """``n`` households of "Làng Mới" with reproducible valid tokens."""
    rng = random.Random(seed)
    entries = []
    for i in range(n):
        data = "".join(rng.choices(ALPHABET, k=13))
        token = data + check_character(data)
        label = f"{LABELS[i % len(LABELS)]} ({i + 1})"
        entries.append(SheetEntry(f"https://agrimap.example.vn/q/{token}", label, display(token)))
    return entries


ENTRIES = make_entries(30)


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return village_sheet_pdf("Làng Mới", "Gia Phú", ENTRIES)


def zbar(paths: list[Path]) -> list[str]:
    done = subprocess.run(
        ["zbarimg", "--raw", "-q", *map(str, paths)], capture_output=True, text=True
    )
    assert done.returncode in (0, 4), done.stderr  # 4: no code found
    return done.stdout.splitlines()


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (12, 1), (13, 2), (30, 3)])
def test_pdf_has_one_page_per_twelve_households(count: int, pages: int) -> None:
    reader = PdfReader(io.BytesIO(village_sheet_pdf("Làng Mới", "Gia Phú", ENTRIES[:count])))
    assert len(reader.pages) == pages
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)


def test_pdf_text_is_vietnamese_and_complete(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    texts = [page.extract_text() for page in reader.pages]
    for number, text in enumerate(texts, start=1):
        assert "Mã QR hộ gia đình – Thôn Làng Mới, Xã Gia Phú" in text
        assert f"Trang {number}/3" in text
    on_page = [ENTRIES[i : i + PER_PAGE] for i in range(0, len(ENTRIES), PER_PAGE)]
    for text, entries in zip(texts, on_page, strict=True):
        for entry in entries:
            assert entry.label in text and entry.token_display in text
        assert text.count("Thôn Làng Mới") == len(entries) + 1  # each card and the title
    assert reader.metadata.title == "Mã QR hộ gia đình – Thôn Làng Mới"


def test_pdf_embeds_dejavu(pdf_bytes: bytes) -> None:
    fonts = PdfReader(io.BytesIO(pdf_bytes)).pages[0]["/Resources"]["/Font"]
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor  # the TrueType program is in the file
        names.add(str(font["/BaseFont"]).split("+")[-1])
    assert len(names) == 3 and all(name.startswith("DejaVuSans") for name in names), names


def _printed_cards(pdf: bytes, page: int, count: int, tmp_path: Path) -> list[Path]:
    """Page ``page`` rendered at 150 dpi by poppler's pdftoppm, cut into its ``count`` cards."""
    exe = shutil.which("pdftoppm")
    assert exe, "pdftoppm is missing: ./run.sh test installs Debian's poppler-utils"
    (tmp_path / "sheet.pdf").write_bytes(pdf)
    subprocess.run(
        [exe, "-png", "-r", "150", "-f", str(page), "-l", str(page), "sheet.pdf", f"p{page}"],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    (rendered,) = tmp_path.glob(f"p{page}*.png")
    image = Image.open(rendered)
    px = image.width / PAGE_W
    cards = []  # zbar may miss one code of twelve on a whole page: read each card alone
    for k in range(count):
        row, col = divmod(k, COLUMNS)
        x0, y0 = MARGIN + col * CARD_W, MARGIN + HEADER_H + row * CARD_H
        cards.append(tmp_path / f"card{page}-{k}.png")
        image.crop((round(x0 * px), round(y0 * px), round((x0 + CARD_W) * px),
                    round((y0 + CARD_H) * px))).save(cards[-1])  # fmt: skip
    return cards


def test_pdf_codes_are_vectors_that_decode_as_printed(pdf_bytes: bytes, tmp_path: Path) -> None:
    """The codes are drawn as rectangles (sharp on any printer, no image to encode): the PDF
    holds no image at all, and every card of a printed page decodes to its own URL."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    assert all(not page.images for page in reader.pages)
    cards = _printed_cards(pdf_bytes, 1, PER_PAGE, tmp_path)
    assert sorted(zbar(cards)) == sorted(e.url for e in ENTRIES[:PER_PAGE])
    last = _printed_cards(pdf_bytes, 3, len(ENTRIES) - 2 * PER_PAGE, tmp_path)
    assert sorted(zbar(last)) == sorted(e.url for e in ENTRIES[2 * PER_PAGE :])


def test_pdf_prints_the_typeable_code_largest_and_where_to_type_it(pdf_bytes: bytes) -> None:
    text = PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert "Nhập mã in to dưới mã QR tại agrimap.example.vn/q" in text
    sizes = {kind: size for kind, (size, _) in TEXT_STYLES.items()}
    assert sizes["code"] > max(sizes["label"], sizes["village"])
    # The code stands right under the symbol, before the label.
    assert text.index(ENTRIES[0].token_display) < text.index(ENTRIES[0].label)


def test_html_has_one_card_per_household_and_nothing_external() -> None:
    page = village_sheet_html("Làng Mới", "Gia Phú", ENTRIES)
    assert page.count('class="card"') == 30 and page.count('<section class="page"') == 3
    assert page.count("<svg") == 30
    assert "<title>Mã QR hộ gia đình – Thôn Làng Mới</title>" in page
    assert "@page { size: A4" in page
    assert all(e.label in page and e.token_display in page for e in ENTRIES)
    assert all(e.url not in page for e in ENTRIES)  # the URL is in the code, not in the text
    assert not NO_EXTERNAL.search(page), NO_EXTERNAL.search(page)
    assert "<script" not in page and "<link" not in page and "<img" not in page


def test_html_escapes_what_officers_type() -> None:
    entry = SheetEntry("https://x.vn/q/1", '<b>Hộ "A" & B</b>', "ABCD-EFGH")
    page = village_sheet_html("<i>Làng</i>", "Gia & Phú", [entry])
    assert "<b>" not in page and "<i>" not in page
    assert "&lt;b&gt;Hộ &quot;A&quot; &amp; B&lt;/b&gt;" in page and "Gia &amp; Phú" in page


def test_empty_village_prints_one_page_saying_so() -> None:
    page = village_sheet_html("Làng Mới", "", [])
    assert page.count('<section class="page"') == 1 and "Chưa có hộ nào có mã QR" in page
    text = PdfReader(io.BytesIO(village_sheet_pdf("Làng Mới", "", []))).pages[0].extract_text()
    assert "Chưa có hộ nào có mã QR" in text


def test_titles_name_the_unit_once() -> None:
    assert village_title("Làng Mới") == "Thôn Làng Mới"
    assert village_title("  Thôn   Làng Mới ") == "Thôn Làng Mới"
    assert commune_title("Gia Phú") == "Xã Gia Phú" and commune_title("Xã Gia Phú") == "Xã Gia Phú"
    assert commune_title("Phường Cam Đường") == "Phường Cam Đường" and commune_title("") == ""


@pytest.mark.parametrize("count", range(0, PER_PAGE + 1))
def test_cut_lines_go_round_every_card_and_nowhere_else(count: int) -> None:
    cells = {divmod(k, COLUMNS) for k in range(count)}
    edges = set()  # unit edges covered by the lines
    for x0, y0, x1, y1 in cut_lines(count):
        if y0 == y1:
            edges |= {("h", x, y0) for x in range(x0, x1)}
        else:
            edges |= {("v", x0, y) for y in range(y0, y1)}
    wanted = set()
    for row, col in cells:
        wanted |= {("h", col, row), ("h", col, row + 1), ("v", col, row), ("v", col + 1, row)}
    assert edges == wanted


@pytest.mark.browser
def test_chromium_prints_the_html_sheet_on_three_a4_pages(tmp_path: Path, artifacts: Path) -> None:
    page_html = village_sheet_html("Làng Mới", "Gia Phú", ENTRIES)
    with browser_page(width=900, height=1200) as page:
        page.set_content(page_html)
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        log = page_log(page)
        assert not log.blocked and not log.page_errors and not log.requested[1:]
        page.locator("section.page").first.screenshot(path=str(artifacts / "qr_village_sheet.png"))
        cards = []
        for k in range(PER_PAGE):
            cards.append(tmp_path / f"card{k}.png")
            page.locator(".card").nth(k).screenshot(path=str(cards[-1]))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    assert ENTRIES[29].label in reader.pages[2].extract_text()
    assert sorted(zbar(cards)) == sorted(e.url for e in ENTRIES[:PER_PAGE])
