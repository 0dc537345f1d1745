"""Areas on the ellipsoid (pyproj Geod, WGS84): what an officer's hectares are measured with."""

from __future__ import annotations

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

_GEOD = Geod(ellps="WGS84")


def geodesic_area_m2(geom: BaseGeometry) -> float:
    """Area in m² of a lon/lat (WGS84) polygon or multipolygon, holes subtracted.

    >>> from shapely.geometry import box
    >>> round(geodesic_area_m2(box(105.0, 21.0, 105.001, 21.001)))
    11511
    """
    # Per ring, unsigned: pyproj's signed sum would add holes and cancel parts drawn the
    # other way round, and hand-drawn or imported rings come in either orientation.
    polygons = getattr(geom, "geoms", [geom])
    total = 0.0
    for poly in polygons:
        total += _ring_m2(poly.exterior)
        total -= sum(_ring_m2(ring) for ring in poly.interiors)
    return total


def _ring_m2(ring) -> float:
    xy = shapely.get_coordinates(ring)  # one array, not a Python tuple per vertex
    area, _ = _GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])
    return abs(area)


def geodesic_area_ha(geom: BaseGeometry) -> float:
    return geodesic_area_m2(geom) / 10_000
