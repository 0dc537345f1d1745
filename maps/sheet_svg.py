"""The map on a map sheet: a boundary in grid metres drawn as inline SVG at a round scale.

One SVG user unit is one millimetre of paper, so the drawing prints true to its stated scale
(1:N) when the page is printed at 100 %.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from geo.values import format_number

SCALE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
MIN_SCALE = 100
LABEL_SPACING_MM = 3.5
FILL, STROKE = "#d7ecc8", "#1b5e20"


@dataclass(frozen=True)
class MapFrame:
    """The map's box on paper (mm): its size, the margin around the drawing, room for the bar."""

    width_mm: float
    height_mm: float
    margin_mm: float = 7.0
    bottom_mm: float = 11.0


def vn_number(value: float, decimals: int, *, grouping: bool = True) -> str:
    """Vietnamese number format: ``.`` groups thousands, ``,`` marks decimals.

    >>> vn_number(1234.5, 2), vn_number(2472922.149, 2, grouping=False), vn_number(-0.5, 1)
    ('1.234,50', '2472922,15', '-0,5')
    """
    return format_number(value, decimals, grouping=grouping)


def nice_scale(required: float) -> int:
    """The smallest round scale denominator (``SCALE_STEPS`` × 10ⁿ) not below ``required``.

    >>> nice_scale(1234), nice_scale(2000), nice_scale(0), nice_scale(float("nan"))
    (1500, 2000, 100, 100)
    """
    if not math.isfinite(required) or required < MIN_SCALE:
        return MIN_SCALE
    power = 10 ** math.floor(math.log10(required))
    for step in SCALE_STEPS:
        if step * power >= required * (1 - 1e-12):
            return int(step * power)
    return int(10 * power)


def bar_length_m(scale: int, target_mm: float) -> float:
    """The round ground length (1, 2 or 5 × 10ⁿ m) whose bar is at most ``target_mm`` long.

    >>> bar_length_m(2000, 30), bar_length_m(500, 30)
    (50.0, 10.0)
    """
    target = target_mm / 1000 * scale
    power = 10 ** math.floor(math.log10(target))
    return next(step * power for step in (5.0, 2.0, 1.0) if step * power <= target)


def _length_text(metres: float) -> str:
    if metres >= 1000:
        return f"{vn_number(metres / 1000, 0 if metres % 1000 == 0 else 1)} km"
    return f"{vn_number(metres, 0 if metres == int(metres) else 1)} m"


def _north_arrow(x: float, y: float, degrees: float) -> str:
    """An arrow to true north turned ``degrees`` clockwise from the grid's up, marked B (Bắc)."""
    return (
        f'<g transform="translate({x:.2f} {y:.2f}) rotate({degrees:.3f})">'
        '<path d="M0,-6 L2.4,3 L0,1.4 Z" fill="#000"/>'
        '<path d="M0,-6 L-2.4,3 L0,1.4 Z" fill="#fff" stroke="#000" stroke-width="0.25"/>'
        '<text x="0" y="-7.2" text-anchor="middle" font-size="3.6" font-weight="bold">B</text></g>'
    )


def _scale_bar(x: float, y: float, scale: int) -> str:
    """A two-part bar with its length in metres, and the numeric scale beside it."""
    metres = bar_length_m(scale, 36.0)
    length = metres / scale * 1000
    half = length / 2
    return (
        f'<g class="scale-bar" transform="translate({x:.2f} {y:.2f})" font-size="2.6">'
        f'<rect x="0" y="0" width="{half:.2f}" height="1.4" fill="#000"/>'
        f'<rect x="{half:.2f}" y="0" width="{half:.2f}" height="1.4" fill="#fff" '
        'stroke="#000" stroke-width="0.25"/>'
        '<text x="0" y="4.6" text-anchor="middle">0</text>'
        f'<text x="{half:.2f}" y="4.6" text-anchor="middle">{_length_text(metres / 2)}</text>'
        f'<text x="{length:.2f}" y="4.6" text-anchor="middle">{_length_text(metres)}</text>'
        f'<text x="{length + 8:.2f}" y="1.6">Tỷ lệ 1:{vn_number(scale, 0)}</text></g>'
    )


def map_svg(
    rings: Sequence[Sequence[tuple[float, float]]],
    labels: Sequence[tuple[int, float, float]],
    *,
    frame: MapFrame,
    north_degrees: float,
    label: str,
) -> str:
    """Inline SVG of ``rings`` (grid easting/northing, metres) with numbered ``labels``.

    ``labels`` are ``(number, easting, northing)`` of the corners to mark; ``north_degrees``
    turns the north arrow (grid to true north, clockwise); ``label`` is the accessible name.
    """
    points = [p for ring in rings for p in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    width = frame.width_mm - 2 * frame.margin_mm
    height = frame.height_mm - frame.margin_mm - frame.bottom_mm
    span = max((max(xs) - min(xs)) / width, (max(ys) - min(ys)) / height) * 1000
    scale = nice_scale(span)
    centre_e, centre_n = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    origin_x, origin_y = frame.width_mm / 2, frame.margin_mm + height / 2

    def paper(e: float, n: float) -> tuple[float, float]:
        return origin_x + (e - centre_e) / scale * 1000, origin_y - (n - centre_n) / scale * 1000

    path = " ".join(
        "M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in map(lambda p: paper(*p), ring)) + " Z"
        for ring in rings
        if ring
    )
    marks, placed = [], []
    for number, e, n in labels:
        x, y = paper(e, n)
        marks.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="0.6" fill="{STROKE}"/>')
        # Crowded corners keep their dot; a number only where it can be read.
        if any(math.hypot(x - px, y - py) < LABEL_SPACING_MM for px, py in placed):
            continue
        placed.append((x, y))
        dx, dy = x - origin_x, y - origin_y
        norm = math.hypot(dx, dy) or 1.0
        tx, ty = x + 2.6 * dx / norm, y + 2.6 * dy / norm + 0.9
        marks.append(
            f'<text x="{tx:.2f}" y="{ty:.2f}" text-anchor="middle" font-size="2.5">{number}</text>'
        )
    w, h = frame.width_mm, frame.height_mm
    return (
        f'<svg viewBox="0 0 {w:.2f} {h:.2f}" width="{w:.2f}mm" height="{h:.2f}mm" role="img" '
        f'aria-label="{html.escape(label, quote=True)}" font-family="sans-serif">'
        f'<rect x="0.15" y="0.15" width="{w - 0.3:.2f}" height="{h - 0.3:.2f}" fill="#fff" '
        'stroke="#000" stroke-width="0.3"/>'
        f'<path class="boundary" d="{path}" fill="{FILL}" fill-rule="evenodd" stroke="{STROKE}" '
        'stroke-width="0.4" stroke-linejoin="round"/>'
        f'<g class="corners">{"".join(marks)}</g>'
        f"{_north_arrow(w - 7.0, 12.5, north_degrees)}"
        f"{_scale_bar(frame.margin_mm, h - frame.bottom_mm + 4.0, scale)}"
        "</svg>"
    )
