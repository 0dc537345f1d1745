"""Colours for soil grades: a raster classed by its class table, for tiles (the legend is the table's)."""

from __future__ import annotations

import numpy as np

from .soil import ClassTable


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def colourise(values: np.ndarray, valid: np.ndarray, table: ClassTable) -> np.ndarray:
    """RGBA (4, h, w) uint8 image of ``values`` in the colours of their classes; transparent
    where not valid. The colours are the class table's, so tiles and legend cannot disagree.

    >>> from geo.soil import class_table
    >>> t = class_table({"property": "om", "unit": "%", "source": "x", "classes": [
    ...   {"grade": "nghèo", "lt": 2, "colour": "#d7191c"}, {"grade": "giàu", "ge": 2, "colour": "#1a9641"}]})
    >>> img = colourise(np.array([[1.0, 3.0, 2.0]]), np.array([[True, False, True]]), t)
    >>> img[:, 0, 0].tolist(), int(img[3, 0, 1]), img[:3, 0, 2].tolist()
    ([215, 25, 28, 255], 0, [26, 150, 65])
    """
    index = table.classify(np.where(valid, values, np.nan))
    palette = np.zeros((len(table.classes) + 1, 4), dtype=np.uint8)  # last row: transparent
    for i, cls in enumerate(table.classes):
        palette[i] = (*_rgb(cls.colour), 255)
    return np.moveaxis(palette[index], -1, 0)
