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


def cells_with_households(
    points: Iterable[tuple[float, float, bool]], *, resolution: int
) -> dict[str, tuple[int, int]]:
    """Households and unserved households per H3 cell: ``{cell: (households, unserved)}``."""
    out: dict[str, list[int]] = {}
    for lon, lat, served in points:
        c = out.setdefault(h3.latlng_to_cell(lat, lon, resolution), [0, 0])
        c[0] += 1
        c[1] += not served
    return {k: (v[0], v[1]) for k, v in out.items()}


def cell_centre(cell: str) -> tuple[float, float]:
    """The (lon, lat) of an H3 cell's centre."""
    lat, lon = h3.cell_to_latlng(cell)
    return lon, lat


def gap_candidates(cells: dict[str, tuple[int, int]]) -> set[str]:
    """The cells a gap may take: every cell holding an unserved household and its six
    neighbours (the area around the household, whether or not anyone else lives there).

    >>> one = h3.latlng_to_cell(22.37, 104.07, 9)
    >>> len(gap_candidates({one: (3, 1)})), gap_candidates({one: (3, 0)})
    (7, set())
    """
    out: set[str] = set()
    for cell, (_, unserved) in cells.items():
        if unserved:
            out.update(h3.grid_disk(cell, 1))
    return out


def gap_fragments(
    cells: dict[str, tuple[int, int]], *, uncovered: Iterable[str], min_area_km2: float
) -> list[dict[str, Any]]:
    """Coverage gaps as the FCC 5G Fund draws them: H3 cells whose centre lies outside
    coverage (``uncovered``, taken from ``gap_candidates``), joined into fragments of
    neighbouring cells; a fragment with no unserved household or smaller than ``min_area_km2``
    is dropped. ``cells`` holds the households and unserved households of inhabited cells.
    Each fragment: its GeoJSON geometry (lon, lat), area in km², cells, households and
    unserved households; largest first.

    >>> gap_fragments({}, uncovered=[], min_area_km2=1.0)
    []
    >>> one = h3.latlng_to_cell(22.37, 104.07, 9)
    >>> ring = gap_candidates({one: (3, 3)})
    >>> gap_fragments({one: (3, 3)}, uncovered=ring, min_area_km2=1.0)  # 0.8 km²: dropped
    []
    >>> [(f["cells"], f["unserved"]) for f in gap_fragments({one: (3, 3)}, uncovered=ring,
    ...                                                     min_area_km2=0.5)]
    [(7, 3)]
    """
    if not (min_area_km2 >= 0):
        raise InvalidInput(
            "Diện tích tối thiểu của một vùng lõm phải từ 0 trở lên.",
            "The minimum gap area must be 0 or more.",
            hint_vi="Mặc định 1 km², như FCC.", hint_en="The default is 1 km², as the FCC's.",
        )  # fmt: skip
    left = set(uncovered)
    out = []
    while left:
        seed = left.pop()
        part, todo = {seed}, [seed]
        while todo:
            for n in h3.grid_ring(todo.pop(), 1):
                if n in left:
                    left.discard(n)
                    part.add(n)
                    todo.append(n)
        area = sum(h3.cell_area(c, "km^2") for c in part)
        unserved = sum(cells.get(c, (0, 0))[1] for c in part)
        if area < min_area_km2 or not unserved:
            continue
        geo = h3.cells_to_geo(sorted(part))
        out.append(
            {
                "geometry": {"type": geo["type"], "coordinates": _rounded(geo["coordinates"])},
                "area_km2": round(area, 3),
                "cells": len(part),
                "households": sum(cells.get(c, (0, 0))[0] for c in part),
                "unserved": unserved,
            }
        )
    return sorted(out, key=lambda f: (-f["area_km2"], f["geometry"]["coordinates"][0][0][0]))


def _rounded(coords: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [round(coords[0], 7), round(coords[1], 7)]
    return [_rounded(c) for c in coords]
