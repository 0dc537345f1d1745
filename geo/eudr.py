"""EU Deforestation Regulation (EUDR, Reg. 2023/1115) plot geolocation: geometry rules and a checker.

The EU Information System (TRACES) takes plots as GeoJSON. Rules follow the Commission's
"EUDR GeoJSON File Description" (v1.2–1.5, CIRCABC), known here through public summaries
(duracert.com/en/eudr-geojson-format, docs.open-atlas.com EUDR GeoJSON requirements,
julio-collazos/blog ``eudr_geojson.md`` on v1.4):

- RFC 7946 GeoJSON in WGS84 (EPSG:4326), positions ``[longitude, latitude]`` in decimal degrees
  with at least 6 decimals; the Information System keeps 6, so vertices closer than that merge;
- geometries: Point, MultiPoint (2+ points), Polygon, MultiPolygon (2+ polygons),
  GeometryCollection (2+ members); lines are not accepted;
- a polygon ring has at least 4 positions that are not all on one line, is closed, does not
  cross or fold onto itself and has no holes ("doughnuts": split them into pieces instead);
- a plot over 4 ha must be a polygon; one of 4 ha or less may be a point;
- properties ``ProducerName``, ``ProducerCountry`` (ISO 3166-1 alpha-2), ``ProductionPlace``
  and ``Area`` (hectares; read for points: without it the system assumes 4 ha).

The file description calls the four properties optional but recommended; a multi-producer
upload is grouped by ProducerName and ProducerCountry. Our dossiers always carry all four, so
``validate_eudr`` treats them as required (``REQUIRED_PROPERTIES``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from .errors import GeometryError

EUDR_DECIMALS = 6
POINT_MAX_HA = 4.0
NO_AREA_DEG2 = 1e-14  # about 1 cm²: a ring enclosing less lies on one line
REQUIRED_PROPERTIES = ("ProducerName", "ProducerCountry", "ProductionPlace", "Area")
GEOMETRY_TYPES = ("Point", "MultiPoint", "Polygon", "MultiPolygon", "GeometryCollection")
WGS84_CRS_NAMES = frozenset(
    {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "OGC:CRS84", "CRS84",
     "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/EPSG/0/4326",
     "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
)  # fmt: skip
_ISO_ALPHA2 = re.compile(r"[A-Z]{2}")

# Rule id -> (Vietnamese, English). Each message ends with its rule id in brackets.
MESSAGES: dict[str, tuple[str, str]] = {
    "document": ("tệp phải là một FeatureCollection GeoJSON có ít nhất một đối tượng: {detail}",
                 "the file must be a GeoJSON FeatureCollection with at least one feature: {detail}"),
    "feature": ("không phải một Feature GeoJSON có properties", "not a GeoJSON Feature with properties"),
    "crs": ("hệ tọa độ '{detail}' không phải WGS84 (EPSG:4326)", "CRS '{detail}' is not WGS84 (EPSG:4326)"),
    "geometry-type": ("kiểu hình học '{detail}' không được chấp nhận (Point, MultiPoint, Polygon, MultiPolygon, GeometryCollection)",
                      "geometry type '{detail}' is not accepted (Point, MultiPoint, Polygon, MultiPolygon, GeometryCollection)"),
    "position": ("tọa độ {detail} không phải [kinh độ, vĩ độ]", "position {detail} is not [longitude, latitude]"),
    "range": ("tọa độ {detail} ngoài phạm vi (kinh độ −180…180, vĩ độ −90…90)",
              "position {detail} out of range (longitude −180…180, latitude −90…90)"),
    "decimals": ("{detail} giá trị tọa độ có ít hơn 6 chữ số thập phân",
                 "{detail} coordinate values have fewer than 6 decimal places"),
    "ring-short": ("vòng {detail} có ít hơn 4 điểm", "ring {detail} has fewer than 4 positions"),
    "ring-open": ("vòng {detail} không khép kín (điểm cuối khác điểm đầu)",
                  "ring {detail} is not closed (last position differs from the first)"),
    "hole": ("đa giác có lỗ (vòng trong): hãy tách thành các phần không có lỗ",
             "polygon has holes (inner rings): split it into pieces without holes"),
    "duplicate-vertex": ("vòng {detail} có hai điểm liên tiếp trùng nhau",
                         "ring {detail} repeats a position consecutively"),
    "invalid-polygon": ("đa giác không hợp lệ (cạnh cắt nhau hoặc chồng lên nhau): {detail}",
                        "invalid polygon (edges cross or overlap): {detail}"),
    "collinear": ("đa giác không có diện tích (các điểm thẳng hàng)",
                  "polygon encloses no area (its points lie on one line)"),
    "multi-size": ("{detail} phải có ít nhất 2 thành phần", "{detail} must have at least 2 members"),
    "multipoint-duplicate": ("MultiPoint có điểm lặp lại", "MultiPoint repeats a point"),
    "nested-collection": ("GeometryCollection lồng nhau", "nested GeometryCollection"),
    "point-over-4ha": ("vùng {detail} ha (trên 4 ha) phải khai báo bằng đa giác, không phải điểm",
                       "a plot of {detail} ha (over 4 ha) must be a polygon, not a point"),
    "property-missing": ("thiếu thuộc tính {detail}", "property {detail} is missing"),
    "producer-country": ("ProducerCountry '{detail}' không phải mã quốc gia ISO 3166-1 alpha-2 (ví dụ VN)",
                         "ProducerCountry '{detail}' is not an ISO 3166-1 alpha-2 code (e.g. VN)"),
    "area": ("Area '{detail}' phải là số héc-ta dương", "Area '{detail}' must be a positive number of hectares"),
}  # fmt: skip


# --- building EUDR geometries ---------------------------------------------------------------


def round_geometry(geom: BaseGeometry, decimals: int) -> BaseGeometry:
    """``geom`` with coordinates rounded to ``decimals``, vertex order kept, still valid.

    Rounding can merge close vertices or make a thin part cross itself; then the geometry is
    snapped to the grid by GEOS instead (valid, but the ring may start elsewhere).

    >>> from shapely.geometry import Point
    >>> round_geometry(Point(104.12345678, 22.1), 6).wkt
    'POINT (104.123457 22.1)'
    >>> round_geometry(Polygon(), 6).is_empty
    True
    """
    rounded = shapely.remove_repeated_points(
        shapely.transform(geom, lambda xy: np.round(xy, decimals))
    )
    if rounded.is_valid:
        return rounded
    return shapely.set_precision(geom, 10.0**-decimals)


def split_holes(polygon: Polygon) -> list[Polygon]:
    """Hole-free pieces covering ``polygon``: each hole is cut open by a north–south line.

    The EU Information System refuses "doughnuts" and asks for them to be split.

    >>> ring = [(0, 0), (4, 0), (4, 4), (0, 4)]
    >>> pieces = split_holes(Polygon(ring, [[(1, 1), (2, 1), (2, 2), (1, 2)]]))
    >>> len(pieces), sum(p.area for p in pieces), any(p.interiors for p in pieces)
    (2, 15.0, False)
    >>> split_holes(Polygon())
    []
    """
    if polygon.is_empty:
        return []
    if not polygon.interiors:
        return [polygon]
    x = Polygon(polygon.interiors[0]).representative_point().x
    _, ymin, _, ymax = polygon.bounds
    cutter = LineString([(x, ymin - 1.0), (x, ymax + 1.0)])
    pieces: list[Polygon] = []
    for piece in split(polygon, cutter).geoms:
        pieces.extend(split_holes(piece))
    return pieces


def eudr_geometries(
    geom: BaseGeometry, area_ha: float, *, points_for_small: bool = False
) -> list[BaseGeometry]:
    """The plot geometries to declare for one growing area, rounded to 6 decimals.

    One geometry normally; several when holes had to be cut open (each piece is its own
    plot, since pieces sharing an edge would make an invalid MultiPolygon). With
    ``points_for_small`` a plot of at most 4 ha becomes a point inside it (one per part).

    >>> from shapely.geometry import box
    >>> [g.geom_type for g in eudr_geometries(box(104, 22, 104.001, 22.001), 1.2)]
    ['Polygon']
    >>> eudr_geometries(box(104, 22, 104.001, 22.001), 1.2, points_for_small=True)[0].geom_type
    'Point'
    >>> eudr_geometries(Polygon(), 1.0)
    Traceback (most recent call last):
    geo.errors.GeometryError: Geometry is empty or invalid: empty
    """
    if geom is None or geom.is_empty or not geom.is_valid:
        reason = "empty" if geom is None or geom.is_empty else shapely.is_valid_reason(geom)
        raise GeometryError(
            f"Ranh giới trống hoặc không hợp lệ: {reason}",
            f"Geometry is empty or invalid: {reason}",
            hint_vi="Sửa ranh giới vùng trồng trước khi xuất hồ sơ EUDR.",
            hint_en="Fix the growing-area boundary before the EUDR export.",
        )
    parts = list(getattr(geom, "geoms", [geom]))
    if points_for_small and area_ha <= POINT_MAX_HA:
        # One point inside each part: a MultiPoint keeps every parcel of the area located.
        points = shapely.point_on_surface(parts)
        located = points[0] if len(points) == 1 else shapely.MultiPoint(list(points))
        return [round_geometry(located, EUDR_DECIMALS)]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return [round_geometry(geom, EUDR_DECIMALS)]
    if not any(p.interiors for p in parts):
        single = parts[0] if len(parts) == 1 else geom
        return [shapely.orient_polygons(round_geometry(single, EUDR_DECIMALS))]
    pieces = [p for part in parts for p in split_holes(part)]
    return [shapely.orient_polygons(round_geometry(p, EUDR_DECIMALS)) for p in pieces]


# --- checking a file ----------------------------------------------------------------------


def validate_eudr(document: dict[str, Any] | str | bytes, *, lang: str = "vi") -> list[str]:
    """Every EUDR rule a GeoJSON document breaks, as messages ending in ``[rule-id]``; [] if none.

    Pass the file's text when you have it: parsed to ``float``, 104.050000 becomes 104.05 and
    counts as 2 decimals. Text is parsed with ``Decimal`` so written trailing zeros count.

    >>> validate_eudr({"type": "FeatureCollection", "features": []}, lang="en")
    ['document: the file must be a GeoJSON FeatureCollection with at least one feature: no features [document]']
    >>> validate_eudr("not json", lang="en")[0].endswith("[document]")
    True
    """
    problems: list[str] = []

    def report(where: str, rule: str, detail: object = "") -> None:
        vi, en = MESSAGES[rule]
        text = (vi if lang == "vi" else en).format(detail=detail)
        problems.append(f"{where}: {text} [{rule}]")

    if isinstance(document, bytes | str):
        try:
            document = json.loads(document, parse_float=Decimal)
        except ValueError as exc:
            report("document", "document", f"JSON: {exc}")
            return problems
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        report("document", "document", "type")
        return problems
    _check_crs(document.get("crs"), report)
    features = document.get("features")
    if not isinstance(features, list) or not features:
        report("document", "document", "no features")
        return problems
    for i, feature in enumerate(features):
        _check_feature(feature, f"features[{i}]", report)
    return problems


Report = Callable[[str, str, object], None]


def _check_crs(crs: Any, report: Report) -> None:
    if crs is None:
        return
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if name not in WGS84_CRS_NAMES:
        report("crs", "crs", name or crs)


def _check_feature(feature: Any, where: str, report: Report) -> None:
    if (
        not isinstance(feature, dict)
        or feature.get("type") != "Feature"
        or not isinstance(feature.get("properties"), dict)
    ):
        report(where, "feature")
        return
    props = feature["properties"]
    area = _check_properties(props, where, report)
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        report(where, "geometry-type", None)
        return
    _check_geometry(geometry, f"{where}.geometry", report, nested=False)
    if area is not None and area > POINT_MAX_HA and _has_points(geometry):
        report(where, "point-over-4ha", f"{area:g}")


def _check_properties(props: dict[str, Any], where: str, report: Report) -> float | None:
    """Report missing or malformed properties; returns the declared Area when it is usable."""
    for name in REQUIRED_PROPERTIES:
        value = props.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            report(where, "property-missing", name)
    country = props.get("ProducerCountry")
    if country is not None and not (isinstance(country, str) and _ISO_ALPHA2.fullmatch(country)):
        report(where, "producer-country", country)
    area = props.get("Area")
    if area is None:
        return None
    if isinstance(area, bool) or not isinstance(area, int | float | Decimal):
        report(where, "area", area)
        return None
    if not math.isfinite(float(area)) or area <= 0:
        report(where, "area", area)
        return None
    return float(area)


def _has_points(geometry: dict[str, Any]) -> bool:
    if geometry.get("type") in ("Point", "MultiPoint"):
        return True
    members = geometry.get("geometries")
    return isinstance(members, list) and any(
        isinstance(m, dict) and _has_points(m) for m in members
    )


def _check_geometry(geometry: dict[str, Any], where: str, report: Report, *, nested: bool) -> None:
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        report(where, "geometry-type", kind)
        return
    if kind == "GeometryCollection":
        _check_collection(geometry.get("geometries"), where, report, nested=nested)
        return
    coords = geometry.get("coordinates")
    positions = list(_positions(coords, depth=_DEPTH[kind]))
    if not positions:
        report(where, "position", "[]")
        return
    if not _check_positions(positions, where, report):
        return
    if kind == "MultiPoint":
        _check_multipoint(coords, where, report)
    elif kind == "Polygon":
        _check_polygon(coords, where, report)
    elif kind == "MultiPolygon":
        _check_multipolygon(coords, where, report)


_DEPTH = {"Point": 0, "MultiPoint": 1, "Polygon": 2, "MultiPolygon": 3}


def _positions(coords: Any, *, depth: int) -> Iterator[Any]:
    """The positions nested ``depth`` lists deep; a malformed level yields itself as a position."""
    if depth == 0:
        yield coords
        return
    if not isinstance(coords, list):
        yield coords
        return
    for item in coords:
        yield from _positions(item, depth=depth - 1)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _decimals(value: int | float | Decimal) -> int:
    """Decimal places as written (Decimal) or as Python would write the float."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_positions(positions: list[Any], where: str, report: Report) -> bool:
    """Shape, range and precision of every position; False when shapes are unusable."""
    for pos in positions:
        if not (isinstance(pos, list) and len(pos) in (2, 3) and all(map(_is_number, pos))):
            report(where, "position", json.dumps(pos, default=str)[:60])
            return False
    for pos in positions:
        lon, lat = float(pos[0]), float(pos[1])
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        ):
            report(where, "range", f"[{pos[0]}, {pos[1]}]")
            break
    short = sum(1 for pos in positions for v in pos[:2] if _decimals(v) < EUDR_DECIMALS)
    if short:
        report(where, "decimals", f"{short}/{2 * len(positions)}")
    return True


def _check_multipoint(coords: list[Any], where: str, report: Report) -> None:
    if len(coords) < 2:
        report(where, "multi-size", "MultiPoint")
    keys = [tuple(float(v) for v in pos[:2]) for pos in coords]
    if len(set(keys)) != len(keys):
        report(where, "multipoint-duplicate")


def _check_rings(rings: Any, where: str, report: Report) -> Polygon | None:
    """Ring rules for one polygon; the shapely polygon when its rings are usable."""
    if not isinstance(rings, list) or not rings:
        report(where, "ring-short", 0)
        return None
    usable = True
    xy_rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in rings]
    for r, xy in enumerate(xy_rings):
        if len(xy) < 4:
            report(where, "ring-short", r)
            usable = False
            continue
        if xy[0] != xy[-1]:
            report(where, "ring-open", r)
            usable = False
        if any(a == b for a, b in zip(xy, xy[1:], strict=False)):
            report(where, "duplicate-vertex", r)
    if len(rings) > 1:
        report(where, "hole")
    return Polygon(xy_rings[0], xy_rings[1:]) if usable else None


def _check_polygon(coords: Any, where: str, report: Report) -> None:
    polygon = _check_rings(coords, where, report)
    if polygon is None:
        return
    if not polygon.is_valid:
        report(where, "invalid-polygon", shapely.is_valid_reason(polygon))
    elif polygon.area < NO_AREA_DEG2:  # GEOS calls a ring of aligned points valid
        report(where, "collinear")


def _check_multipolygon(coords: Any, where: str, report: Report) -> None:
    if len(coords) < 2:
        report(where, "multi-size", "MultiPolygon")
    polygons = [_check_rings(rings, f"{where}[{i}]", report) for i, rings in enumerate(coords)]
    for i, polygon in enumerate(polygons):
        if polygon is not None and polygon.is_valid and polygon.area < NO_AREA_DEG2:
            report(f"{where}[{i}]", "collinear")
    if all(p is not None for p in polygons):
        multi = MultiPolygon(polygons)
        if not multi.is_valid:
            report(where, "invalid-polygon", shapely.is_valid_reason(multi))


def _check_collection(members: Any, where: str, report: Report, *, nested: bool) -> None:
    if nested:
        report(where, "nested-collection")
    if not isinstance(members, list) or len(members) < 2:
        report(where, "multi-size", "GeometryCollection")
    for i, member in enumerate(members if isinstance(members, list) else []):
        if isinstance(member, dict):
            _check_geometry(member, f"{where}.geometries[{i}]", report, nested=True)
        else:
            report(f"{where}.geometries[{i}]", "geometry-type", member)
