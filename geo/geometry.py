"""Geometry checks for imported features: accept, repair without changing the shape, or reject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import GeometryError, TooLarge

Kind = Literal["polygon", "point"]

# A repair may move nothing: the repaired area must equal the drawn area to this share.
AREA_TOLERANCE = 1e-6


@dataclass(frozen=True)
class GeometryCheck:
    """Outcome of checking one geometry: ``geometry`` is None when rejected."""

    geometry: BaseGeometry | None
    status: Literal["ok", "repaired", "rejected"]
    note_vi: str = ""
    note_en: str = ""


def _rejected(vi: str, en: str) -> GeometryCheck:
    return GeometryCheck(None, "rejected", vi, en)


def _drawn_area(geom: BaseGeometry) -> float:
    """Area enclosed by the rings as drawn (shoelace per ring), without any repair.

    A bow-tie's two lobes cancel here, so it differs from the repaired area: that is how a
    crossing boundary is told apart from a harmless defect such as a doubled vertex.
    """
    polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    total = 0.0
    for p in polys:
        total += abs(_ring_area(p.exterior.coords))
        total -= sum(abs(_ring_area(r.coords)) for r in p.interiors)
    return total


def _ring_area(coords: object) -> float:
    xy = np.asarray(coords, dtype=float)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2.0


def _as_multipolygon(geom: BaseGeometry) -> MultiPolygon | None:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for part in parts:
        polys.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polys) if polys else None


def check_polygon(geom: BaseGeometry | None) -> GeometryCheck:
    """Check a polygon for a polygon layer.

    >>> check_polygon(Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])).status
    'ok'
    >>> check_polygon(None).status
    'rejected'
    >>> check_polygon(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])).status  # bow-tie
    'rejected'
    """
    if geom is None or geom.is_empty:
        return _rejected("Hình học rỗng.", "Empty geometry.")
    geom = shapely.force_2d(geom)
    multi = _as_multipolygon(geom) if isinstance(geom, Polygon | MultiPolygon) else None
    if multi is None:
        return _rejected(
            f"Cần vùng (polygon) nhưng gặp {geom.geom_type}.",
            f"Expected a polygon but found a {geom.geom_type}.",
        )
    if not multi.is_valid:
        return _repair(multi)
    return GeometryCheck(multi, "ok")


def _repair(geom: MultiPolygon) -> GeometryCheck:
    reason = shapely.is_valid_reason(geom)
    deduped = shapely.remove_repeated_points(geom, tolerance=0.0)
    if deduped.is_valid and not deduped.is_empty:
        return GeometryCheck(
            _as_multipolygon(deduped),
            "repaired",
            "Đã bỏ các đỉnh trùng nhau.",
            "Removed duplicate vertices.",
        )
    fixed = _as_multipolygon(shapely.make_valid(geom))
    drawn = _drawn_area(geom)
    if fixed is not None and fixed.is_valid and drawn > 0:
        if abs(fixed.area - drawn) <= AREA_TOLERANCE * drawn:
            return GeometryCheck(
                fixed,
                "repaired",
                f"Đã sửa hình học không hợp lệ mà không đổi diện tích ({reason}).",
                f"Repaired an invalid geometry without changing its area ({reason}).",
            )
    at = _location(reason)
    where_vi = f" tại kinh độ {at[0]:.6f}, vĩ độ {at[1]:.6f}" if at else ""
    where_en = f" at longitude {at[0]:.6f}, latitude {at[1]:.6f}" if at else ""
    return _rejected(
        f"Ranh giới tự cắt nhau{where_vi} ({reason}); sửa lại bản vẽ để các cạnh không cắt nhau rồi nhập lại.",
        f"The boundary crosses itself{where_en} ({reason}); redraw it so that no edges cross, then import again.",
    )


def _location(reason: str) -> tuple[float, float] | None:
    """The point GEOS names in a validity reason such as ``Self-intersection[104.1 22.3]``."""
    if "[" in reason and reason.endswith("]"):
        x, _, y = reason[reason.index("[") + 1 : -1].partition(" ")
        try:
            return float(x), float(y)
        except ValueError:
            return None
    return None


def check_point(geom: BaseGeometry | None) -> GeometryCheck:
    """Check a point for a point layer; a one-point MultiPoint is accepted as its point.

    >>> check_point(Point(104.0, 22.3)).status
    'ok'
    >>> check_point(Point()).status
    'rejected'
    """
    if geom is None or geom.is_empty:
        return _rejected("Thiếu tọa độ.", "Missing coordinates.")
    geom = shapely.force_2d(geom)
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, Point):
        return _rejected(
            f"Cần điểm (point) nhưng gặp {geom.geom_type}.",
            f"Expected a point but found a {geom.geom_type}.",
        )
    return GeometryCheck(geom, "ok")


def check_geometry(geom: BaseGeometry | None, kind: Kind) -> GeometryCheck:
    return check_point(geom) if kind == "point" else check_polygon(geom)


# --- size and finiteness (issue 17) -----------------------------------------------------


@dataclass(frozen=True)
class GeometryLimits:
    """The most vertices and parts one geometry may have (AGRIMAP_MAX_VERTICES, _MAX_PARTS)."""

    max_vertices: int = 10_000
    max_parts: int = 500


def _too_large(what_vi: str, what_en: str, n: int, limit: int, setting: str):
    return TooLarge(
        f"Hình học có {n:,} {what_vi}, vượt giới hạn {limit:,} ({setting}).".replace(",", "."),
        f"The geometry has {n:,} {what_en}, over the limit of {limit:,} ({setting}).",
        hint_vi="Đơn giản hóa ranh giới (ví dụ Simplify trong QGIS, sai số 0,5 m) rồi gửi lại.",
        hint_en="Simplify the boundary (e.g. QGIS Simplify, 0.5 m tolerance) and send it again.",
        details=[f"{setting}={limit}"],
    )


def count_coordinates(coords: object, limits: GeometryLimits) -> None:
    """Count the positions of GeoJSON ``coordinates`` before any geometry is built, and
    refuse as soon as there are more than ``limits.max_vertices``.

    >>> count_coordinates([[[0, 0], [1, 0], [0, 1], [0, 0]]], GeometryLimits())
    >>> count_coordinates([], GeometryLimits())
    """
    seen = 0
    stack = [coords]
    while stack:
        node = stack.pop()
        if not isinstance(node, list | tuple) or not node:
            continue
        if isinstance(node[0], int | float):  # a position
            seen += 1
            if seen > limits.max_vertices:
                raise _too_large("đỉnh", "vertices", seen, limits.max_vertices,
                                 "AGRIMAP_MAX_VERTICES")  # fmt: skip
            continue
        stack.extend(node)


def check_size(geom: BaseGeometry, limits: GeometryLimits) -> None:
    """Refuse a geometry with more vertices or parts than ``limits`` (TooLarge, HTTP 413).

    >>> check_size(Polygon([(0, 0), (1, 0), (1, 1)]), GeometryLimits(max_vertices=10))
    >>> check_size(Polygon(), GeometryLimits())
    """
    n = int(shapely.get_num_coordinates(geom))
    if n > limits.max_vertices:
        raise _too_large("đỉnh", "vertices", n, limits.max_vertices, "AGRIMAP_MAX_VERTICES")
    parts = int(shapely.get_num_geometries(geom))
    if parts > limits.max_parts:
        raise _too_large("phần", "parts", parts, limits.max_parts, "AGRIMAP_MAX_PARTS")


def check_finite(geom: BaseGeometry) -> None:
    """Refuse coordinates that are NaN or infinite (GeometryError, HTTP 400).

    >>> check_finite(Point(104.0, 22.3))
    >>> check_finite(Point())
    """
    xy = shapely.get_coordinates(geom)
    if xy.size and not np.isfinite(xy).all():
        bad = int((~np.isfinite(xy)).any(axis=1).sum())
        raise GeometryError(
            f"Có {bad} tọa độ không phải số hữu hạn (NaN hoặc vô cực).",
            f"{bad} coordinates are not finite numbers (NaN or infinity).",
            hint_vi="Mỗi đỉnh cần kinh độ và vĩ độ là số, ví dụ 104.05, 22.35.",
            hint_en="Each vertex needs a numeric longitude and latitude, e.g. 104.05, 22.35.",
        )
