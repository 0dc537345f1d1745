"""H3 hexagons (ô lục giác) of households: how many, how many served, the share; a cell with
too few households is marked as such instead of showing 0 % or 100 %."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h3

from .coverage_rules import percent
from .errors import InvalidInput


def hexagon_counts(
    points: Iterable[tuple[float, float, bool]], *, resolution: int, min_households: int
) -> list[dict[str, Any]]:
    """Households (lon, lat, served) counted per H3 cell at ``resolution``, sorted by cell.

    A cell with fewer than ``min_households`` keeps its household count, but its served count
    and share are None and ``too_few`` is True.

    >>> [c["households"] for c in hexagon_counts([(104.07, 22.37, True)] * 3,
    ...                                          resolution=9, min_households=1)]
    [3]
    >>> hexagon_counts([], resolution=9, min_households=5)
    []
    >>> hexagon_counts([(104.07, 22.37, True)], resolution=16, min_households=5)
    Traceback (most recent call last):
    geo.errors.InvalidInput: H3 resolution must be 0 to 15, not 16.
    """
    if not 0 <= resolution <= 15:
        raise InvalidInput(
            f"Độ phân giải H3 phải từ 0 đến 15, không phải {resolution}.",
            f"H3 resolution must be 0 to 15, not {resolution}.",
            hint_vi="Thường dùng 9 cho một xã, 8 cho một tỉnh.",
            hint_en="Usually 9 for a commune, 8 for a province.",
        )
    if min_households < 1:
        raise InvalidInput(
            "Số hộ tối thiểu của một ô phải từ 1 trở lên.",
            "The minimum households per cell must be at least 1.",
        )
    counts: dict[str, list[int]] = {}
    for lon, lat, served in points:
        cell = counts.setdefault(h3.latlng_to_cell(lat, lon, resolution), [0, 0])
        cell[0] += 1
        cell[1] += bool(served)
    out = []
    for cell, (n, served) in sorted(counts.items()):
        too_few = n < min_households
        out.append(
            {
                "cell": cell,
                "households": n,
                "served": None if too_few else served,
                "unserved": None if too_few else n - served,
                "served_pct": None if too_few else percent(served, n),
                "too_few": too_few,
            }
        )
    return out


def cell_polygon(cell: str) -> dict[str, Any]:
    """The GeoJSON Polygon (lon, lat) of an H3 cell, closed."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
