"""QR images for household gate signs (biển mã QR hộ gia đình): PNG and SVG with printed text.

Error correction is level **H** (about 30 % of the symbol can be lost and still read): a sign
on a gate or alley wall lives outdoors for years, with rain streaks, sun fading, mud splashes,
scratches and screw holes. Level Q (25 %) would save one QR version for a typical 45-character
URL (33 instead of 37 modules); printed 4–5 cm wide, as on the village sheet, a module is about
1 mm either way, which a phone reads from arm's length. The quiet zone is the standard 4 modules.

Under the code: the typeable code (``K7QX-93MA-R2TD-5Y``, the largest line: what people who
cannot scan type at /q), the household's label and the village (or whatever ``sublabel``
says). Text is NFC-normalised and
drawn with DejaVu Sans, which has every precomposed Vietnamese letter.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from geo import qrtoken

ERROR_LEVEL = "H"
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 requires
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu"),  # Fedora, Alpine
    Path("/usr/share/fonts/TTF"),  # Arch
)
FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono-Bold.ttf",
}
SVG_FONTS = "'DejaVu Sans', 'Noto Sans', Arial, sans-serif"
SVG_MONO = "'DejaVu Sans Mono', 'Noto Sans Mono', Consolas, monospace"
# Text sizes in modules: (font size, style) for label, sublabel and code lines.
# The typeable code is first and largest: it is what a person types at /q (the label is often
# the household's own number, GP-01-0001, which /q does not take).
LINE_STYLES = {"code": (3.6, "mono"), "label": (2.8, "bold"), "sublabel": (2.3, "regular")}
LINE_SPACING = 1.35  # em from one line's top to the next
ASCENT = 1.1  # em above the baseline: DejaVu Sans Bold "Ẫ" reaches 1.07 em
MIN_SHRINK = 0.7  # shrink a line to 70 % before wrapping it
MAX_LINES = 3

Measure = Callable[[str, float], float]


class FontMissing(RuntimeError):
    """DejaVu Sans is not installed, so Vietnamese text cannot be drawn (a deployment error)."""


def font_path(style: str = "regular", *, font_dirs: tuple[Path, ...] | None = None) -> Path:
    """The DejaVu TTF file for ``style`` ("regular", "bold" or "mono"); raises ``FontMissing``.

    Looks in ``font_dirs`` (default ``FONT_DIRS``). Pillow's built-in bitmap font has no
    Vietnamese letters, so there is no silent fallback to it.
    """
    name = FONT_FILES[style]
    font_dirs = FONT_DIRS if font_dirs is None else font_dirs
    for folder in font_dirs:
        if (folder / name).is_file():
            return folder / name
    raise FontMissing(
        f"Font {name} not found in {', '.join(map(str, font_dirs))}: install the Debian "
        "package fonts-dejavu-core (needed to print Vietnamese labels under QR codes)."
    )


@lru_cache(maxsize=64)
def _pil_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True, eq=False)
class QRSymbol:
    """A QR Code symbol: its modules (``matrix``, True for dark, no quiet zone) and level."""

    matrix: np.ndarray
    error: str = ERROR_LEVEL
    is_micro: bool = False

    def symbol_size(self, scale: int = 1, border: int = QUIET_ZONE) -> tuple[int, int]:
        """(width, height) in pixels with ``border`` modules of quiet zone on each side."""
        side = (self.matrix.shape[0] + 2 * border) * scale
        return side, side

    def runs(self) -> list[tuple[int, int, int]]:
        """(x, y, length) of every horizontal run of dark modules, row by row."""
        padded = np.zeros((self.matrix.shape[0], self.matrix.shape[1] + 2), dtype=np.int8)
        padded[:, 1:-1] = self.matrix
        edges = np.diff(padded, axis=1)
        rows, starts = np.nonzero(edges == 1)  # row-major: the n-th start and end pair up
        ends = np.nonzero(edges == -1)[1]
        return list(zip(starts.tolist(), rows.tolist(), (ends - starts).tolist(), strict=True))


@lru_cache(maxsize=512)
def qr_code(url: str) -> QRSymbol:
    """The QR symbol for ``url`` at error level H (never a Micro QR: phones do not read those).

    Encoded by zxing-cpp (C++, with the standard's choice of mask by penalty score): about
    0.3 ms a symbol, where the pure-Python encoder we had took 5–10 ms, most of it choosing the
    mask; a village sheet of 150 codes spent a second on that alone. Cached, so the HTML and
    PDF sheets of one village (and a label printed twice) encode each code once.
    """
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_LEVEL)
    if barcode.ec_level != ERROR_LEVEL:
        raise RuntimeError(f"QR encoder gave level {barcode.ec_level}, not {ERROR_LEVEL}")
    modules = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False)) < 128
    modules.setflags(write=False)
    return QRSymbol(modules)


def code_from_url(url: str) -> str | None:
    """The display form of the token the URL ends with, or None if it does not end with one.

    >>> code_from_url("https://x.vn/q/K7QX93MAR2TD5Y"), code_from_url("https://x.vn/")
    ('K7QX-93MA-R2TD-5Y', None)
    """
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return qrtoken.display(tail) if qrtoken.is_well_formed(tail) else None


def _greedy_lines(text: str, max_width: float, size: float, measure: Measure) -> list[str]:
    """Words of ``text`` filled greedily into lines no wider than ``max_width`` (if possible)."""
    words: list[str] = []
    for word in text.split(" "):  # a dash stays with the word before it: no line starts "–"
        if words and word in ("–", "—", "-"):
            words[-1] = f"{words[-1]} {word}"
        else:
            words.append(word)
    lines: list[str] = []
    for word in words:
        if lines and measure(f"{lines[-1]} {word}", size) <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _balanced_lines(text: str, max_width: float, size: float, measure: Measure) -> list[str]:
    """Greedy lines at the narrowest width that needs no more of them (no lone last word)."""
    count = len(_greedy_lines(text, max_width, size, measure))
    low, high = max_width / count, max_width
    for _ in range(12):
        middle = (low + high) / 2
        if len(_greedy_lines(text, middle, size, measure)) <= count:
            high = middle
        else:
            low = middle
    return _greedy_lines(text, high, size, measure)


def wrap_to_fit(
    text: str, max_width: float, size: float, measure: Measure, *, max_lines: int = MAX_LINES
) -> tuple[float, list[str]]:
    """A font size and lines for ``text`` within ``max_width``: shrink a little, else wrap.

    One line is kept while the size can stay above ``MIN_SHRINK``; otherwise the words are
    wrapped (balanced, breaking after a dash when that costs no line) at the full size if that
    takes at most ``max_lines`` lines, else at the smallest size, the last line cut with "…".
    A word longer than the width is left whole (it is a code or a name: never split it).

    >>> w = lambda s, size: len(s) * size  # every character one em wide
    >>> wrap_to_fit("ab cd", 10, 2, w), wrap_to_fit("ab cd", 8, 2, w), wrap_to_fit("", 8, 2, w)
    ((2, ['ab cd']), (1.6, ['ab cd']), (2, []))
    >>> wrap_to_fit("aaaa bb cc", 12, 2, w)  # balanced, not "aaaa bb" / "cc"
    (2, ['aaaa', 'bb cc'])
    >>> wrap_to_fit("aaaa bb cc dd ee ff", 5, 1, w, max_lines=2)
    (0.7, ['aaaa bb', 'cc dd…'])
    """
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text:
        return size, []
    width = measure(text, size)
    if width <= max_width:
        return size, [text]
    if width * MIN_SHRINK <= max_width:
        return size * max_width / width, [text]
    for trial in (size, size * MIN_SHRINK):
        lines = _wrapped(text, max_width, trial, measure)
        if len(lines) <= max_lines:
            return trial, lines
    size = size * MIN_SHRINK
    lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    while len(lines[-1]) > 1 and measure(lines[-1] + "…", size) > max_width:
        lines[-1] = lines[-1][:-1].rstrip()
    lines[-1] += "…"
    return size, lines


def _wrapped(text: str, max_width: float, size: float, measure: Measure) -> list[str]:
    """Balanced lines, broken after a dash ("Hộ Nguyễn Văn Ước – Thôn …") if that costs none."""
    lines = _balanced_lines(text, max_width, size, measure)
    parts = re.split(r"(?<= [–—-]) ", text)
    by_part = [line for part in parts for line in _balanced_lines(part, max_width, size, measure)]
    return by_part if len(parts) > 1 and len(by_part) <= len(lines) else lines


def _caption(url: str, label: str, sublabel: str, code: str | None) -> list[tuple[str, str]]:
    """The (kind, text) lines under the symbol: the typeable code (largest), the label, the
    sublabel; a sublabel that *is* the code is not repeated."""
    code = code_from_url(url) if code is None else code
    lines = [("code", code)] if code else []
    lines.append(("label", label))
    if sublabel and not (code and qrtoken.normalise(sublabel) == qrtoken.normalise(code)):
        lines.append(("sublabel", sublabel))
    return lines


def _layout(
    lines: list[tuple[str, str]], width: float, unit: float, measure: Callable[[str], Measure]
) -> list[tuple[str, float, str, float]]:
    """(style, size, text, baseline) for every printed line, below 0 in the units of ``width``.

    Room above each baseline is ``ASCENT`` em: Vietnamese capitals carry stacked marks ("Ẫ",
    "Ữ") that reach higher than Latin ones, and must not reach into the quiet zone above.
    """
    placed, y = [], 0.0
    for kind, text in lines:
        base, style = LINE_STYLES[kind]
        size, wrapped = wrap_to_fit(text, width, base * unit, measure(style))
        for line in wrapped:
            placed.append((style, size, line, y + size * ASCENT))
            y += size * LINE_SPACING
    return placed


def qr_symbol_png(url: str, *, scale: int = 8) -> bytes:
    """The bare QR symbol as a 1-bit PNG, quiet zone included, ``scale`` pixels per module."""
    modules = np.pad(qr_code(url).matrix, QUIET_ZONE)
    pixels = np.repeat(np.repeat(~modules, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(pixels).convert("1").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def qr_png(
    url: str, *, label: str, sublabel: str, scale: int = 8, code: str | None = None
) -> bytes:
    """A PNG of the QR code for ``url`` with the label, sublabel and typeable code under it.

    ``code`` defaults to the display form of the token at the end of ``url`` (none if the URL
    does not end with one); pass ``""`` to print no code. Raises ``FontMissing`` without DejaVu.
    """
    symbol = Image.open(io.BytesIO(qr_symbol_png(url, scale=scale))).convert("L")
    width = symbol.width
    paths = {style: font_path(style) for style in FONT_FILES}

    def measure(style: str) -> Measure:
        return lambda s, size: _pil_font(paths[style], max(1, round(size))).getlength(s)

    placed = _layout(_caption(url, label, sublabel, code), width - 2 * scale, scale, measure)
    text_height = placed[-1][3] + 2 * scale if placed else 0
    image = Image.new("L", (width, width + math.ceil(text_height) + 2 * scale), 255)
    image.paste(symbol, (0, 0))
    draw = ImageDraw.Draw(image)
    for style, size, text, baseline in placed:
        font = _pil_font(paths[style], max(1, round(size)))
        draw.text((width / 2, width + baseline), text, fill=0, font=font, anchor="ms")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _module_path(qr: QRSymbol, offset: int) -> str:
    """SVG path data for the dark modules, one rectangle per horizontal run."""
    return "".join(f"M{x + offset} {y + offset}h{n}v1h-{n}z" for x, y, n in qr.runs())


def qr_symbol_svg(url: str, *, css_class: str = "qr", standalone: bool = True) -> str:
    """The bare QR symbol as SVG (one unit per module, quiet zone included), no size set.

    ``standalone=False`` leaves out the XML namespace, which HTML does not need for inline SVG
    (so the page has no URL in it at all).
    """
    qr = qr_code(url)
    side = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    return (
        f"<svg{xmlns} class={quoteattr(css_class)} "
        f'viewBox="0 0 {side} {side}" shape-rendering="crispEdges" role="img">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{_module_path(qr, QUIET_ZONE)}"/></svg>'
    )


def estimated_measure(style: str) -> Measure:
    """Text width estimate without a font file (for SVG and HTML, drawn by the viewer's font).

    DejaVu Sans averages about 0.6 em a character (bold a little more), Mono 0.6 em exactly;
    the estimate errs wide so that text measured with it fits.
    """
    per_char = {"bold": 0.66, "regular": 0.6, "mono": 0.62}[style]
    return lambda s, size: len(s) * size * per_char


def qr_svg(url: str, *, label: str, sublabel: str, scale: int = 8, code: str | None = None) -> str:
    """A standalone SVG document: the QR code for ``url`` with label, sublabel and code under it.

    Same text as :func:`qr_png` (see there for ``code``). The drawing is in module units and
    ``scale`` sets its nominal pixel size; every text is XML-escaped.
    """
    qr = qr_code(url)
    side = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    placed = _layout(_caption(url, label, sublabel, code), side - 2, 1.0, estimated_measure)
    height = side + (placed[-1][3] + 2 if placed else 0) + 2
    texts = []
    for style, size, text, baseline in placed:
        family = SVG_MONO if style == "mono" else SVG_FONTS
        weight = "" if style == "regular" else ' font-weight="bold"'
        texts.append(
            f'<text x="{side / 2:g}" y="{side + baseline:.2f}" font-size="{size:.2f}"'
            f" font-family={quoteattr(family)}{weight}>{escape(text)}</text>"
        )
    title = escape(unicodedata.normalize("NFC", label))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side * scale}" '
        f'height="{round(height * scale)}" viewBox="0 0 {side} {height:.2f}">'
        f"<title>{title}</title>"
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<path fill="#000" shape-rendering="crispEdges" d="{_module_path(qr, QUIET_ZONE)}"/>'
        f'<g text-anchor="middle" fill="#000">{"".join(texts)}</g></svg>'
    )
