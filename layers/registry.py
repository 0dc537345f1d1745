"""The growing-area registry (server side): check a drawn boundary, register it with a new code,
replace, change status, delete, list history. Every write runs inside ``api.auth.acting`` so the
database checks the officer's communes and records history and audit itself.

Checks and their thresholds (chosen here; the issue leaves them open):
- boundary must be a valid polygon in Vietnam: a self-intersection is an error, with its place;
- overlap with an *active* area of more than ``OVERLAP_TOLERANCE_M2`` is an error naming the
  other code and the m² (409 on submit); a sliver up to that is a warning (hand digitising);
- the area must lie in one commune (at most ``OUTSIDE_TOLERANCE_M2`` outside its boundary);
- size: under ``MIN_HA`` is an error, over ``WARN_HA`` a warning, over ``MAX_HA`` an error.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from psycopg import AsyncConnection
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo import codes
from geo.area import geodesic_area_m2
from geo.crs import VIETNAM_BOUNDS_WGS84
from geo.errors import Conflict, GeometryError, InvalidInput, NotFound
from geo.values import parse_date, parse_integer, parse_text

from .growing_areas import split_owner

VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OVERLAP_TOLERANCE_M2 = 1.0
OUTSIDE_TOLERANCE_M2 = 1.0
MIN_HA = 0.005  # 50 m²
WARN_HA = 500.0
MAX_HA = 5000.0

PUBLIC_COLUMNS = (
    "id", "code", "crop", "area_ha", "cooperative", "member_households", "status",
    "status_reason", "status_changed_on", "issued_on", "commune_code", "version", "note",
)  # fmt: skip


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
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


# --- geometry -----------------------------------------------------------------------------


def boundary_from_geojson(obj: Any) -> MultiPolygon:
    """A GeoJSON Polygon/MultiPolygon (or a Feature holding one) in WGS84, as a MultiPolygon."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            "Cần một ranh giới dạng vùng (Polygon hoặc MultiPolygon GeoJSON).",
            "A boundary must be a GeoJSON Polygon or MultiPolygon.",
            hint_vi="Vẽ vùng trên bản đồ hoặc tải lên tệp KML/GeoJSON/shapefile.",
            hint_en="Draw the area on the map or upload a KML/GeoJSON/shapefile.",
        )
    try:
        geom = shapely.force_2d(shape(obj))
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise GeometryError(
            f"Tọa độ của ranh giới không đọc được: {exc}.",
            f"The boundary's coordinates cannot be read: {exc}.",
        ) from exc
    if geom.is_empty:
        raise GeometryError("Ranh giới rỗng.", "The boundary is empty.")
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


# --- checks in the database ---------------------------------------------------------------

COMMUNE_SQL = """
WITH g AS (SELECT ST_GeomFromText(%(wkt)s, 4326) AS g)
SELECT c.code, c.name,
       ST_Area(ST_Difference(g.g, c.geom)::geography) AS outside_m2
FROM commune c, g
WHERE ST_Intersects(c.geom, g.g)
ORDER BY ST_Area(ST_Intersection(c.geom, g.g)::geography) DESC
LIMIT 1
"""
OVERLAP_SQL = """
WITH g AS (SELECT ST_GeomFromText(%(wkt)s, 4326) AS g)
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
    ha, problems = shape_problems(geom)
    commune_code = commune_name = None
    if geom.is_valid:
        params = {"wkt": geom.wkt, "exclude": exclude_id}
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


def record_fields(props: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate the properties an officer submits; returns the columns to store."""
    allowed = {"crop", "owner", "member_households", "issued_on", "note", "code", "version"}
    unknown = sorted(set(props) - allowed - {"area_ha", "commune_code", "status", "id"})
    problems_vi: list[str] = [f"không có trường '{k}'" for k in unknown]
    out: dict[str, Any] = {}

    def take(key: str, parse, label: str) -> None:
        if key not in props:
            return
        try:
            out[key] = parse(props[key])
        except ValueError as exc:
            problems_vi.append(f"{label}: giá trị '{props[key]}' không hợp lệ ({exc})")

    take("crop", parse_text, "cây trồng")
    take("note", parse_text, "ghi chú")
    take("member_households", parse_integer, "số hộ")
    take("issued_on", parse_date, "ngày cấp")
    take("owner", parse_text, "chủ sở hữu")
    if not partial and not out.get("crop"):
        problems_vi.append("cây trồng là bắt buộc")
    if (out.get("member_households") or 0) < 0:
        problems_vi.append("số hộ không được âm")
    if out.get("issued_on") and out["issued_on"] > vietnam_today():
        problems_vi.append("ngày cấp ở tương lai")
    if problems_vi:
        raise InvalidInput(
            "Thông tin vùng trồng chưa hợp lệ: " + "; ".join(problems_vi) + ".",
            "Invalid growing-area record: " + "; ".join(problems_vi) + ".",
            hint_vi="Các trường: crop, owner, member_households, issued_on, note.",
            hint_en="Fields: crop, owner, member_households, issued_on, note.",
        )
    if "owner" in out:
        out.update(split_owner(out))  # pops "owner": organisation public, person private
    if "member_households" in out and out["member_households"] is None:
        out["member_households"] = 0
    return out


def expected_version(if_match: str | None, props: dict[str, Any]) -> int:
    """The version the client last saw, from If-Match ("v3", W/"v3" or 3) or properties.version."""
    raw = if_match if if_match is not None else props.get("version")
    if raw is not None:
        text = str(raw).strip().removeprefix("W/").strip('"').lstrip("v")
        if text.isdigit():
            return int(text)
    raise PreconditionRequired(
        "Cần biết phiên bản bạn đang sửa (tiêu đề If-Match hoặc thuộc tính version).",
        "Say which version you are changing (If-Match header or the version property).",
        hint_vi="Đọc vùng trồng trước, rồi gửi lại ETag của nó trong If-Match.",
        hint_en="Read the area first and send its ETag back in If-Match.",
    )


class PreconditionRequired(InvalidInput):
    """A write to an existing area without the version it is based on (HTTP 428)."""


# --- writes -------------------------------------------------------------------------------


async def _next_serial(conn: AsyncConnection, commune: str, year: int, start: int) -> int:
    row = await (
        await conn.execute(
            "INSERT INTO growing_area_serial AS s (commune_code, year, last_serial) "
            "VALUES (%s, %s, %s) ON CONFLICT (commune_code, year) DO UPDATE "
            "SET last_serial = greatest(s.last_serial + 1, EXCLUDED.last_serial) "
            "RETURNING last_serial",
            (commune, year, start),
        )
    ).fetchone()
    return row[0]


async def _highest_issued(conn: AsyncConnection, commune: str, year: int, layout) -> int:
    """The highest serial among codes already stored for this commune and year (imports)."""
    rows = await (
        await conn.execute("SELECT code FROM growing_area WHERE commune_code = %s", (commune,))
    ).fetchall()
    best = 0
    for (code,) in rows:
        try:
            parsed = layout.parse(code)
        except InvalidInput:
            continue
        if parsed.year == year and parsed.commune == commune:
            best = max(best, parsed.serial)
    return best


async def allocate_code(
    conn: AsyncConnection, commune: str, year: int, layout=codes.DEFAULT_LAYOUT
) -> str:
    """A code never handed out before, for a commune and year (safe under concurrency).

    The default layout still carries the pre-2025 district: it comes from the commune's
    former codes as imported (commune_former_code), then from the package lists."""
    former = await (
        await conn.execute(
            "SELECT province_code, district_code FROM commune_former_code "
            "WHERE current_commune_code = %s ORDER BY (commune_code = %s) DESC LIMIT 1",
            (commune, commune),
        )
    ).fetchone()
    province, district = former if former else (None, None)
    highest = await _highest_issued(conn, commune, year, layout)
    serial = await _next_serial(conn, commune, year, highest + 1)
    return codes.next_code(
        commune, year, serial, layout=layout, province=province, district=district
    )


async def create(
    conn: AsyncConnection, geom: MultiPolygon, props: dict[str, Any], *, user: str, layout=None
) -> int:
    layout = layout or codes.DEFAULT_LAYOUT
    fields = record_fields(props)
    result = await check(conn, geom)
    refuse_on_errors(result)
    issued = fields.get("issued_on") or vietnam_today()
    given = parse_text(props.get("code"))
    if given:
        checked = codes.validate(given, layout=layout)
        code = checked.code
    else:
        code = await allocate_code(conn, result["commune_code"], issued.year, layout)
    try:
        row = await (
            await conn.execute(
                "INSERT INTO growing_area (code, crop, area_ha, cooperative, owner_name, "
                "member_households, status, issued_on, commune_code, note, registered_by, geom) "
                "VALUES (%(code)s, %(crop)s, %(area)s, %(cooperative)s, %(owner_name)s, "
                "%(members)s, 'active', %(issued)s, %(commune)s, %(note)s, %(user)s, "
                "ST_GeomFromText(%(wkt)s, 4326)) RETURNING id",
                {
                    "code": code,
                    "crop": fields["crop"],
                    "area": result["area_ha"],
                    "cooperative": fields.get("cooperative"),
                    "owner_name": fields.get("owner_name"),
                    "members": fields.get("member_households") or 0,
                    "issued": issued,
                    "commune": result["commune_code"],
                    "note": fields.get("note"),
                    "user": user,
                    "wkt": geom.wkt,
                },
            )  # fmt: skip
        ).fetchone()
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "23505":  # unique code
            raise Conflict(
                f"Mã số vùng trồng {code} đã được cấp cho vùng khác.",
                f"Growing-area code {code} is already issued to another area.",
            ) from exc
        raise
    return row[0]


async def _write(conn: AsyncConnection, gid: int, version: int, sql: str, params: dict) -> None:
    row = await (await conn.execute(sql, {**params, "id": gid, "version": version})).fetchone()
    if row is not None:
        return
    current = await (
        await conn.execute("SELECT version FROM growing_area WHERE id = %s", (gid,))
    ).fetchone()
    if current is None:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    raise Conflict(
        f"Vùng trồng đã được người khác sửa (bạn sửa phiên bản {version}, hiện tại là "
        f"{current[0]}). Tải lại để xem thay đổi rồi sửa lại; dữ liệu không bị ghi đè.",
        f"The area was changed by someone else (you edited version {version}, it is now "
        f"{current[0]}). Reload, review and edit again; nothing was overwritten.",
    )


async def replace(
    conn: AsyncConnection, gid: int, geom: MultiPolygon, props: dict[str, Any], version: int
) -> None:
    fields = record_fields(props)
    result = await check(conn, geom, exclude_id=gid)
    refuse_on_errors(result)
    await _write(
        conn, gid, version,
        "UPDATE growing_area SET crop = %(crop)s, cooperative = %(cooperative)s, "
        "owner_name = %(owner_name)s, member_households = %(members)s, "
        "issued_on = coalesce(%(issued)s, issued_on), note = %(note)s, area_ha = %(area)s, "
        "commune_code = %(commune)s, geom = ST_GeomFromText(%(wkt)s, 4326) "
        "WHERE id = %(id)s AND version = %(version)s RETURNING id",
        {
            "crop": fields["crop"], "cooperative": fields.get("cooperative"),
            "owner_name": fields.get("owner_name"), "members": fields.get("member_households") or 0,
            "issued": fields.get("issued_on"), "note": fields.get("note"),
            "area": result["area_ha"], "commune": result["commune_code"], "wkt": geom.wkt,
        },
    )  # fmt: skip


async def patch(
    conn: AsyncConnection,
    gid: int,
    props: dict[str, Any],
    version: int,
    geom: MultiPolygon | None = None,
) -> None:
    """Change some fields (and optionally the boundary) of the version the client saw."""
    fields = record_fields({k: v for k, v in props.items() if k != "version"}, partial=True)
    if "crop" in fields and not fields["crop"]:
        raise InvalidInput("Cây trồng không được để trống.", "The crop must not be empty.")
    values: dict[str, Any] = dict(fields)
    if geom is not None:
        result = await check(conn, geom, exclude_id=gid)
        refuse_on_errors(result)
        values.update(area_ha=result["area_ha"], commune_code=result["commune_code"])
    if not values:
        raise InvalidInput(
            "Không có gì để sửa.",
            "Nothing to change.",
            hint_vi='Gửi các trường cần sửa, ví dụ {"crop": "Chè"}.',
            hint_en='Send the fields to change, e.g. {"crop": "Tea"}.',
        )
    sets = [f"{k} = %({k})s" for k in values]
    if geom is not None:
        sets.append("geom = ST_GeomFromText(%(wkt)s, 4326)")
        values["wkt"] = geom.wkt
    await _write(
        conn, gid, version,
        f"UPDATE growing_area SET {', '.join(sets)} "  # noqa: S608 - column names are ours
        "WHERE id = %(id)s AND version = %(version)s RETURNING id",
        values,
    )  # fmt: skip


async def delete(conn: AsyncConnection, gid: int, version: int) -> None:
    await _write(
        conn, gid, version,
        "DELETE FROM growing_area WHERE id = %(id)s AND version = %(version)s RETURNING id", {},
    )  # fmt: skip


STATUS_ACTIONS = {"suspend": "suspended", "reinstate": "active", "revoke": "revoked"}
ALLOWED_FROM = {
    "suspend": {"active"},
    "reinstate": {"suspended"},
    "revoke": {"active", "suspended"},
}


async def change_status(
    conn: AsyncConnection,
    gid: int,
    action: str,
    *,
    reason: str | None,
    on: dt.date | None,
    version: int,
) -> None:
    if action not in STATUS_ACTIONS:
        raise NotFound(f"Không có thao tác {action}.", f"No action {action}.")
    if action != "reinstate" and not (reason or "").strip():
        raise InvalidInput(
            "Cần ghi lý do tạm dừng hoặc thu hồi mã.",
            "A reason is required to suspend or revoke a code.",
        )
    row = await (
        await conn.execute("SELECT status FROM growing_area WHERE id = %s", (gid,))
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    if row[0] not in ALLOWED_FROM[action]:
        raise Conflict(
            f"Không thể {action} một mã đang ở trạng thái {row[0]}.",
            f"Cannot {action} a code whose status is {row[0]}.",
        )
    if action == "reinstate":
        geom_row = await (
            await conn.execute("SELECT ST_AsText(geom) FROM growing_area WHERE id = %s", (gid,))
        ).fetchone()
        result = await check(conn, shapely.from_wkt(geom_row[0]), exclude_id=gid)
        overlaps = [p for p in result["problems"] if p["kind"] == "overlap"]
        refuse_on_errors({"problems": [p for p in overlaps if p["severity"] == "error"]})
    await _write(
        conn, gid, version,
        "UPDATE growing_area SET status = %(status)s, status_reason = %(reason)s, "
        "status_changed_on = %(on)s WHERE id = %(id)s AND version = %(version)s RETURNING id",
        {"status": STATUS_ACTIONS[action], "reason": (reason or "").strip() or None,
         "on": on or vietnam_today()},
    )  # fmt: skip


# --- reads --------------------------------------------------------------------------------


async def get_record(conn: AsyncConnection, gid: int) -> tuple[dict[str, Any], BaseGeometry]:
    cols = ", ".join(PUBLIC_COLUMNS)
    row = await (
        await conn.execute(
            f"SELECT {cols}, ST_AsText(geom) FROM growing_area WHERE id = %s",  # noqa: S608
            (gid,),
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    props = dict(zip(PUBLIC_COLUMNS, row[:-1], strict=True))
    props["area_ha"] = float(props["area_ha"])
    return props, shapely.from_wkt(row[-1])


async def history(conn: AsyncConnection, gid: int) -> list[dict[str, Any]]:
    rows = await (
        await conn.execute(
            "SELECT version, operation, changed_at, changed_by, record, ST_AsGeoJSON(geom, 7) "
            "FROM growing_area_history WHERE growing_area_id = %s ORDER BY id",
            (gid,),
        )
    ).fetchall()
    if not rows:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    hidden = {"owner_name", "registered_by"}  # personal data stays out of the public history
    out = []
    for version, op, at, by, record, geojson in rows:
        out.append(
            {
                "version": version, "operation": op, "changed_at": at.isoformat(),
                "changed_by": by,
                "properties": {k: v for k, v in record.items() if k not in hidden},
                "geometry": json.loads(geojson),
            }
        )  # fmt: skip
    return out


def is_polygonal(geom: BaseGeometry) -> bool:
    return isinstance(geom, Polygon | MultiPolygon)
