"""Checks of a growing-area record before the registry writes it: the boundary's shape, its
overlaps and commune in the database, the record's fields and the version a client edits.

Checks and their thresholds (chosen here; the issue leaves them open):
- boundary must be a valid polygon in Vietnam: a self-intersection is an error, with its place;
- overlap with an *active* area of more than ``OVERLAP_TOLERANCE_M2`` is an error naming the
  other code and the m² (409 on submit); a sliver up to that is a warning (hand digitising);
- the area must lie in one commune (at most ``OUTSIDE_TOLERANCE_M2`` outside its boundary);
- size: under ``MIN_HA`` is an error, over ``WARN_HA`` a warning, over ``MAX_HA`` an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from psycopg import AsyncConnection
from shapely.geometry import MultiPolygon, shape

from geo.area import geodesic_area_m2
from geo.crs import VIETNAM_BOUNDS_WGS84
from geo.errors import Conflict, GeometryError, InvalidInput
from geo.geometry import GeometryLimits, check_finite, check_size, count_coordinates
from geo.values import format_number, id_number

from .growing_areas import LAYER, split_owner
from .offload import in_worker

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OVERLAP_TOLERANCE_M2 = 1.0
OUTSIDE_TOLERANCE_M2 = 1.0
MIN_HA = 0.005  # 50 m²
WARN_HA = 500.0
MAX_HA = 5000.0


@dataclass(frozen=True)
class Problem:
    kind: str
    severity: str  # "error" or "warning"
    message_vi: str
    message_en: str
    other_code: str | None = None
    overlap_m2: float | None = None


def vietnam_today() -> dt.date:
    """Today in Vietnam (UTC+7): an officer's date, whatever the server's clock zone."""
    return dt.datetime.now(VIETNAM_TZ).date()


def vi_number(value: float, decimals: int = 1) -> str:
    """Vietnamese number format: 3.539,8 (dot for thousands, comma for decimals)."""
    return format_number(value, decimals)


# --- geometry -----------------------------------------------------------------------------


def boundary_from_geojson(obj: Any, limits: GeometryLimits = GeometryLimits()) -> MultiPolygon:
    """A GeoJSON Polygon/MultiPolygon (or a Feature holding one) in WGS84, as a MultiPolygon,
    within ``limits`` (vertices counted before the geometry is built) and finite."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            "Cần một ranh giới dạng vùng (Polygon hoặc MultiPolygon GeoJSON).",
            "A boundary must be a GeoJSON Polygon or MultiPolygon.",
            hint_vi="Vẽ vùng trên bản đồ hoặc tải lên tệp KML/GeoJSON/shapefile.",
            hint_en="Draw the area on the map or upload a KML/GeoJSON/shapefile.",
        )
    count_coordinates(obj.get("coordinates"), limits)
    try:
        geom = shapely.force_2d(shape(obj))
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise GeometryError(
            f"Tọa độ của ranh giới không đọc được: {exc}.",
            f"The boundary's coordinates cannot be read: {exc}.",
        ) from exc
    if geom.is_empty:
        raise GeometryError("Ranh giới rỗng.", "The boundary is empty.")
    check_size(geom, limits)
    check_finite(geom)
    minx, miny, maxx, maxy = geom.bounds
    vx0, vy0, vx1, vy1 = VIETNAM_BOUNDS_WGS84
    if minx < vx0 or maxx > vx1 or miny < vy0 or maxy > vy1:
        raise GeometryError(
            f"Ranh giới nằm ngoài Việt Nam ({minx:.5f}, {miny:.5f} – {maxx:.5f}, {maxy:.5f}).",
            f"The boundary lies outside Vietnam ({minx:.5f}, {miny:.5f} – {maxx:.5f}, {maxy:.5f}).",
            hint_vi="Tọa độ phải là kinh độ, vĩ độ WGS84 (ví dụ 104.05, 22.35).",
            hint_en="Coordinates must be WGS84 longitude, latitude (e.g. 104.05, 22.35).",
        )
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def shape_problems(geom: MultiPolygon) -> tuple[float, list[Problem]]:
    """Geodesic area (ha) and the problems visible without the database."""
    problems: list[Problem] = []
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        problems.append(
            Problem(
                "self_intersection", "error",
                f"Ranh giới tự cắt hoặc không hợp lệ: {reason}. Hãy sửa các đỉnh bị chéo nhau.",
                f"The boundary intersects itself or is invalid: {reason}. Fix the crossing vertices.",
            )
        )  # fmt: skip
    ha = geodesic_area_m2(geom) / 10_000
    if ha < MIN_HA:
        problems.append(
            Problem(
                "too_small", "error",
                f"Diện tích {vi_number(ha, 4)} ha quá nhỏ (tối thiểu {vi_number(MIN_HA, 3)} ha): có thể vẽ nhầm.",
                f"Area {ha:.4f} ha is too small (minimum {MIN_HA} ha): probably a mis-drawing.",
            )
        )  # fmt: skip
    elif ha > MAX_HA:
        problems.append(
            Problem(
                "too_large", "error",
                f"Diện tích {vi_number(ha)} ha vượt quá {vi_number(MAX_HA, 0)} ha của một vùng trồng.",
                f"Area {ha:,.1f} ha exceeds the {MAX_HA:,.0f} ha limit for one growing area.",
            )
        )  # fmt: skip
    elif ha > WARN_HA:
        problems.append(
            Problem(
                "too_large", "warning",
                f"Diện tích {vi_number(ha)} ha rất lớn: kiểm tra lại ranh giới.",
                f"Area {ha:,.1f} ha is very large: check the boundary.",
            )
        )  # fmt: skip
    return ha, problems


def _shape_and_wkb(geom: MultiPolygon) -> tuple[tuple[float, list[Problem]], bytes | None]:
    """The shape's problems and, for a valid one, its WKB for the database checks (binary:
    PostGIS reads it several times faster than WKT, and making it costs nothing)."""
    return shape_problems(geom), shapely.to_wkb(geom) if geom.is_valid else None


# --- checks in the database ---------------------------------------------------------------

# The commune holding most of the area. An area inside one commune (nearly every one) is
# answered by ST_CoveredBy alone: the difference and intersection areas, which cost 8x more
# on a 10,000-vertex boundary, are computed only for an area crossing a boundary.
COMMUNE_SQL = """
WITH g AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS g),
c AS (SELECT c.code, c.name, c.geom, g.g, ST_CoveredBy(g.g, c.geom) AS inside
      FROM commune c, g WHERE ST_Intersects(c.geom, g.g))
SELECT code, name,
       CASE WHEN inside THEN 0 ELSE ST_Area(ST_Difference(g, geom)::geography) END AS outside_m2
FROM c
ORDER BY inside DESC,
         CASE WHEN inside THEN 0 ELSE ST_Area(ST_Intersection(geom, g)::geography) END DESC
LIMIT 1
"""
OVERLAP_SQL = """
WITH g AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS g)
SELECT a.code, ST_Area(ST_Intersection(a.geom, g.g)::geography) AS m2
FROM growing_area a, g
WHERE a.status = 'active' AND ST_Intersects(a.geom, g.g)
  AND a.id IS DISTINCT FROM %(exclude)s
ORDER BY m2 DESC
"""


async def check(
    conn: AsyncConnection, geom: MultiPolygon, *, exclude_id: int | None = None
) -> dict[str, Any]:
    """Everything an officer should see before submitting: area, commune, problems."""
    (ha, problems), wkb = await in_worker(_shape_and_wkb, geom)
    commune_code = commune_name = None
    if wkb is not None:
        params = {"wkb": wkb, "exclude": exclude_id}
        row = await (await conn.execute(COMMUNE_SQL, params)).fetchone()
        if row is None:
            problems.append(
                Problem(
                    "outside_commune", "error",
                    "Vùng trồng không nằm trong xã nào đã có trên bản đồ.",
                    "The area lies in no commune on the map.",
                )
            )  # fmt: skip
        else:
            commune_code, commune_name, outside = row
            if outside > OUTSIDE_TOLERANCE_M2:
                problems.append(
                    Problem(
                        "outside_commune", "error",
                        f"{vi_number(outside, 0)} m² của vùng nằm ngoài ranh giới xã {commune_name}.",
                        f"{outside:,.0f} m² of the area lie outside commune {commune_name}.",
                    )
                )  # fmt: skip
        for code, m2 in await (await conn.execute(OVERLAP_SQL, params)).fetchall():
            error = m2 > OVERLAP_TOLERANCE_M2
            problems.append(
                Problem(
                    "overlap", "error" if error else "warning",
                    f"Chồng lấn {vi_number(m2)} m² với vùng trồng đang hoạt động {code}.",
                    f"Overlaps {m2:,.1f} m² with active growing area {code}.",
                    other_code=code, overlap_m2=round(m2, 1),
                )
            )  # fmt: skip
    return {
        "area_ha": round(ha, 4),
        "commune_code": commune_code,
        "commune_name": commune_name,
        "problems": [asdict(p) for p in problems],
    }


def refuse_on_errors(result: dict[str, Any]) -> None:
    """Raise the error an API client gets for the first blocking problem (409 for overlaps)."""
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    if not errors:
        return
    details = [p["message_en"] for p in errors][:20]
    shape_errors = [p for p in errors if p["kind"] != "overlap"]
    if not shape_errors:  # a good boundary that clashes with a registered one: 409
        p = errors[0]
        more = len(errors) - 1
        tail_vi = f" (và {more} vùng khác)" if more else ""
        tail_en = f" (and {more} more)" if more else ""
        raise Conflict(p["message_vi"] + tail_vi, p["message_en"] + tail_en, details=details)
    vi = " ".join(p["message_vi"] for p in shape_errors)
    en = " ".join(p["message_en"] for p in shape_errors)
    raise GeometryError(vi, en, details=details)


# --- record fields ------------------------------------------------------------------------


# What an officer may send: the layer's editable columns, the code of a registration, the
# version being changed, and the read-only values a client echoes back from a read.
_EDITABLE = {c.name: c for c in LAYER.editable}
_ACCEPTED = {*_EDITABLE, "code", "version"}
_ECHOED = {"id", "area_ha", "commune_code", "status"}


def record_fields(props: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate the properties an officer submits; returns the columns to store."""
    unknown = sorted(set(props) - _ACCEPTED - _ECHOED)
    problems_vi: list[str] = [f"không có trường '{k}'" for k in unknown]
    out: dict[str, Any] = {}
    for name, col in _EDITABLE.items():
        if name not in props:
            continue
        try:
            out[name] = col.parse(props[name])
        except ValueError as exc:
            problems_vi.append(f"{col.label_vi}: giá trị '{props[name]}' không hợp lệ ({exc})")
    for name, col in _EDITABLE.items():
        if col.required and not partial and not out.get(name):
            problems_vi.append(f"{col.label_vi} là bắt buộc")
        if col.refuses(out.get(name)):
            problems_vi.append(f"{col.label_vi} không được âm")
    if out.get("issued_on") and out["issued_on"] > vietnam_today():
        problems_vi.append("ngày cấp ở tương lai")
    if problems_vi:
        fields = ", ".join(_EDITABLE)
        raise InvalidInput(
            "Thông tin vùng trồng chưa hợp lệ: " + "; ".join(problems_vi) + ".",
            "Invalid growing-area record: " + "; ".join(problems_vi) + ".",
            hint_vi=f"Các trường: {fields}.",
            hint_en=f"Fields: {fields}.",
        )
    if "owner" in out:
        both = sorted({"cooperative", "owner_name"} & set(props))
        if both:
            raise InvalidInput(
                f"Gửi hoặc 'owner' (tên cũ) hoặc {', '.join(both)}, không gửi cả hai.",
                f"Send either 'owner' (the old name) or {', '.join(both)}, not both.",
                hint_vi="Dùng 'cooperative' cho tổ chức đại diện (công khai) và 'owner_name' "
                "cho chủ hộ là cá nhân (dữ liệu cá nhân, không công khai).",
                hint_en="Use 'cooperative' for the representing organisation (public) and "
                "'owner_name' for an owner who is a person (personal data, not public).",
            )
        out.update(split_owner(out))  # pops "owner": organisation public, person private
    if "member_households" in out and out["member_households"] is None:
        out["member_households"] = 0
    return out


def expected_version(if_match: str | None, props: dict[str, Any]) -> int:
    """The version the client last saw, from If-Match ("v3", W/"v3" or 3) or properties.version."""
    raw = if_match if if_match is not None else props.get("version")
    if raw is not None:
        text = str(raw).strip().removeprefix("W/").strip('"').lstrip("v")
        if id_number(text) is not None:
            return int(text)
    raise PreconditionRequired(
        "Cần biết phiên bản bạn đang sửa (tiêu đề If-Match hoặc thuộc tính version).",
        "Say which version you are changing (If-Match header or the version property).",
        hint_vi="Đọc vùng trồng trước, rồi gửi lại ETag của nó trong If-Match.",
        hint_en="Read the area first and send its ETag back in If-Match.",
    )


class PreconditionRequired(InvalidInput):
    """A write to an existing area without the version it is based on (HTTP 428)."""
