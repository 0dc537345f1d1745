"""Colours for soil grades: a classed colour map (poor → rich) for raster tiles and legends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# From poor/acid (warm) to rich/neutral (green): colour-blind-safe enough for 5 classes.
RAMP = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641", "#0b5d2a", "#4a3aa7")


def classes_low_to_high(classes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(classes, key=lambda c: c.get("min", float("-inf")))


def legend(classes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """[{grade, min, max, colour}] from the lowest class to the highest."""
    ordered = classes_low_to_high(classes)
    return [
        {
            "grade": c["grade"],
            "min": c.get("min"),
            "max": c.get("max"),
            "colour": RAMP[i % len(RAMP)],
        }
        for i, c in enumerate(ordered)
    ]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def colourise(
    values: np.ndarray, valid: np.ndarray, classes: Sequence[Mapping[str, Any]]
) -> np.ndarray:
    """RGBA (4, h, w) uint8 image of ``values`` classed by grade; transparent where not valid.

    >>> table = [{"max": 2.0, "grade": "nghèo"}, {"min": 2.0, "grade": "giàu"}]
    >>> img = colourise(np.array([[1.0, 3.0]]), np.array([[True, False]]), table)
    >>> img[:, 0, 0].tolist(), int(img[3, 0, 1])
    ([215, 25, 28, 255], 0)
    """
    out = np.zeros((4, *values.shape), dtype=np.uint8)
    for item in legend(classes):
        low = -np.inf if item["min"] is None else item["min"]
        high = np.inf if item["max"] is None else item["max"]
        mask = valid & (values >= low) & (values < high)
        r, g, b = _rgb(item["colour"])
        out[0][mask], out[1][mask], out[2][mask], out[3][mask] = r, g, b, 255
    return out
