"""QR images for gate signs: a real decoder (zbarimg) reads back the exact URL; the printed text
is there, escaped, and in Vietnamese."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import maps.qr
from geo.qrtoken import check_character, display
from maps.qr import FontMissing, code_from_url, font_path, qr_code, qr_png, qr_svg, wrap_to_fit
from tests.browser import browser_page

SVG = "{http://www.w3.org/2000/svg}"
TOKEN = "K7QX93MAR2TD5" + check_character("K7QX93MAR2TD5")
URL = f"https://agrimap.example.vn/q/{TOKEN}"
VI_LABEL = "Hộ Nguyễn Văn Ước – Thôn Làng Mới"
URLS = [
    URL,
    f"http://127.0.0.1:8765/q/{TOKEN}",
    f"https://bando-nongnghiep.laocai.gov.vn/xa/02923/q/{TOKEN}?lang=vi#ban-do",
]


def zbar(path: Path) -> list[str]:
    """Every code zbarimg finds in the image at ``path``, as raw text (one per line)."""
    done = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True)
    assert done.returncode in (0, 4), done.stderr  # 4: no code found
    return done.stdout.splitlines()


@pytest.mark.parametrize("url", URLS)
def test_png_decodes_to_the_exact_url(url: str, tmp_path: Path) -> None:
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(url, label="Hộ GP-01-0001", sublabel="Thôn Cóc Sa"))
    assert zbar(png) == [url]


@pytest.mark.parametrize("scale", [3, 8, 12])
def test_png_vietnamese_label_decodes_at_every_scale(scale: int, tmp_path: Path) -> None:
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(URL, label=VI_LABEL, sublabel="Xã Gia Phú, Lào Cai", scale=scale))
    assert zbar(png) == [URL]


def test_png_keeps_a_quiet_zone_and_prints_text_under_it() -> None:
    scale = 8
    image = Image.open(io.BytesIO(qr_png(URL, label=VI_LABEL, sublabel="Thôn Làng Mới")))
    side = qr_code(URL).symbol_size(scale=scale, border=4)[0]
    assert image.width == side and image.height > side + 6 * scale  # room for three lines
    pixels = image.convert("L").load()
    zone = 4 * scale
    for i in range(side):  # the 4-module frame round the symbol is white
        for j in range(zone):
            assert pixels[i, j] == 255 and pixels[j, i] == 255
            assert pixels[i, side - 1 - j] == 255 and pixels[side - 1 - j, i] == 255
    text_band = [pixels[x, y] for x in range(side) for y in range(side, image.height)]
    assert min(text_band) < 64  # something dark is printed under the code


def test_error_correction_is_high_for_outdoor_signs() -> None:
    qr = qr_code(URL)
    assert qr.error == "H" and not qr.is_micro


def _svg_texts(svg: str) -> tuple[ET.Element, list[str]]:
    root = ET.fromstring(svg)
    return root, [t.text or "" for t in root.iter(f"{SVG}text")]


def test_svg_is_valid_xml_with_the_label_village_and_code() -> None:
    svg = qr_svg(URL, label=VI_LABEL, sublabel="Thôn Làng Mới")
    root, texts = _svg_texts(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == VI_LABEL
    assert VI_LABEL in svg
    # The typeable code first (printed largest), then the label and the village.
    assert " ".join(texts) == f"{display(TOKEN)} {VI_LABEL} Thôn Làng Mới"


def test_svg_text_is_escaped() -> None:
    label = 'Hộ "A" & <b>B</b><script>alert(1)</script>'
    svg = qr_svg(URL, label=label, sublabel="Thôn <Làng> & Mới")
    root, texts = _svg_texts(svg)
    assert root.find(f"{SVG}title").text == label
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}b"))
    assert "Thôn <Làng> & Mới" in texts and "<script>" not in svg


def test_code_comes_from_the_url_and_is_printed_once() -> None:
    assert code_from_url(URL) == display(TOKEN)
    assert code_from_url("https://agrimap.example.vn/q/") is None
    assert code_from_url("https://agrimap.example.vn/q/K7QX93MAR2TD5J") is None  # bad check
    # The officers' route passes the code as sublabel: it is printed once, not twice.
    _, texts = _svg_texts(qr_svg(URL, label="Hộ GP-01-0001", sublabel=display(TOKEN)))
    assert texts == [display(TOKEN), "Hộ GP-01-0001"]
    _, texts = _svg_texts(qr_svg(URL, label="Hộ GP-01-0001", sublabel="Cóc Sa", code=""))
    assert texts == ["Hộ GP-01-0001", "Cóc Sa"]
    _, texts = _svg_texts(qr_svg("https://x.vn/", label="Nhà văn hoá", sublabel="Cóc Sa"))
    assert texts == ["Nhà văn hoá", "Cóc Sa"]


def test_long_labels_wrap_and_decomposed_text_is_composed() -> None:
    long = "Hộ ông bà Nguyễn Thị Phương Thảo và Nguyễn Văn Ước, số nhà 123 đường liên thôn"
    _, texts = _svg_texts(qr_svg(URL, label=long, sublabel="Thôn Làng Mới"))
    assert 2 <= len(texts) - 2 <= maps.qr.MAX_LINES
    decomposed = "Ho\u0302\u0323 Nguye\u0302\u0303n"  # "Hộ Nguyễn" typed with combining marks
    _, texts = _svg_texts(qr_svg(URL, label=decomposed, sublabel=""))
    assert texts[1] == "Hộ Nguyễn"


def test_wrapping_never_starts_a_line_with_a_dash() -> None:
    def width(text: str, size: float) -> float:
        return len(text) * size * 0.6

    for max_width in range(8, 40):
        _, lines = wrap_to_fit(VI_LABEL, max_width, 2.0, width)
        assert lines and not any(line.startswith(("–", "-")) for line in lines)


def test_missing_font_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert font_path("regular").name == "DejaVuSans.ttf"
    monkeypatch.setattr(maps.qr, "FONT_DIRS", (tmp_path,))
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        qr_png(URL, label=VI_LABEL, sublabel="Thôn Làng Mới")
    assert qr_svg(URL, label=VI_LABEL, sublabel="")  # SVG needs no font file


@pytest.mark.browser
def test_chromium_draws_a_decodable_svg(tmp_path: Path, artifacts: Path) -> None:
    svg = qr_svg(URL, label=VI_LABEL, sublabel="Thôn Làng Mới, Xã Gia Phú", scale=6)
    with browser_page(width=400, height=500) as page:
        page.set_content(f"<!DOCTYPE html><body style='margin:0'>{svg}</body>")
        shot = page.locator("svg").screenshot(path=str(tmp_path / "svg.png"))
    (artifacts / "qr_sign.png").write_bytes(shot)
    assert zbar(tmp_path / "svg.png") == [URL]
