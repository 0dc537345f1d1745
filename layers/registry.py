"""The growing-area registry (server side): register a checked boundary with a new code,
replace, change status, delete, list history. Every write runs inside ``api.auth.acting`` so the
database checks the officer's communes and records history and audit itself. The checks before
a write are in ``registry_checks``.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

import shapely
from psycopg import AsyncConnection, sql
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geo import codes
from geo.errors import Conflict, InvalidInput, NotFound
from geo.exports import ExportFeature
from geo.values import parse_text

from .growing_areas import EXPORT_COLUMNS, LAYER, OFFICER_RECORD_COLUMNS, RECORD_COLUMNS
from .registry_checks import check, record_fields, refuse_on_errors, vietnam_today
from .updates import BY_ID_AND_VERSION, SET_POLYGON, update_statement

# The stored columns an officer's record fills: editable ones and those derived from them
# (an owner becomes the public cooperative or the private owner_name).
WRITTEN = tuple(
    dict.fromkeys([c.name for c in LAYER.editable if c.stored] + list(LAYER.derived_columns))
)
DEFAULTS = {"member_households": 0}  # what an absent value is stored as


def _written(fields: dict[str, Any]) -> dict[str, Any]:
    return {c: fields.get(c) if fields.get(c) is not None else DEFAULTS.get(c) for c in WRITTEN}


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
    conn: AsyncConnection, commune: str, year: int, layout=codes.ISSUE_LAYOUT
) -> str:
    """A code never handed out before, for a commune and year (safe under concurrency).

    A layout that still carries the pre-2025 district takes it from the commune's former
    codes as imported (commune_former_code), then from the package lists; today's layout
    takes today's province."""
    province = district = None
    if layout.has_district:
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
    conn: AsyncConnection,
    geom: MultiPolygon,
    props: dict[str, Any],
    *,
    user: str,
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT),
) -> int:
    """Register an area. A new code follows ``layouts[0]`` (it names today's province and
    commune); a code the officer gives may follow any of ``layouts``."""
    layout = layouts[0]
    fields = record_fields(props)
    result = await check(conn, geom)
    refuse_on_errors(result)
    issued = fields.get("issued_on") or vietnam_today()
    given = parse_text(props.get("code"))
    if given:
        checked = codes.validate_any(given, layouts=layouts)
        code = checked.code
    else:
        code = await allocate_code(conn, result["commune_code"], issued.year, layout)
    values = {
        **_written(fields),
        "issued_on": issued,
        "code": code,
        "area_ha": result["area_ha"],
        "status": "active",
        "commune_code": result["commune_code"],
        "registered_by": user,
    }
    # The province is named on insert: it chooses the partition (migration 0015).
    insert = sql.SQL(
        "INSERT INTO growing_area ({}, province_code, geom) "
        "VALUES ({}, commune_province(%(commune_code)s), {}) RETURNING id"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(map(sql.Placeholder, values)),
        sql.SQL("ST_GeomFromText(%(wkt)s, 4326)"),
    )
    try:
        row = await (await conn.execute(insert, {**values, "wkt": geom.wkt})).fetchone()
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "23505":  # unique code
            raise Conflict(
                f"Mã số vùng trồng {code} đã được cấp cho vùng khác.",
                f"Growing-area code {code} is already issued to another area.",
            ) from exc
        raise
    return row[0]


async def _write(
    conn: AsyncConnection, gid: int, version: int, statement: sql.Composable, params: dict
) -> None:
    row = await (
        await conn.execute(statement, {**params, "id": gid, "version": version})
    ).fetchone()
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
    values = _written(fields)
    if values["issued_on"] is None:
        del values["issued_on"]  # a replacement without a date keeps the issue date
    values.update(area_ha=result["area_ha"], commune_code=result["commune_code"], wkt=geom.wkt)
    columns = [c for c in values if c != "wkt"]
    await _write(
        conn, gid, version,
        update_statement("growing_area", columns, SET_POLYGON, where=BY_ID_AND_VERSION), values,
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
    columns = list(values)
    extra = [SET_POLYGON] if geom is not None else []
    if geom is not None:
        values["wkt"] = geom.wkt
    await _write(
        conn, gid, version,
        update_statement("growing_area", columns, *extra, where=BY_ID_AND_VERSION), values,
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


async def get_record(
    conn: AsyncConnection, gid: int, *, personal: bool = False
) -> tuple[dict[str, Any], BaseGeometry]:
    """An area's record (``RECORD_COLUMNS``) and boundary; ``personal`` (an officer's write)
    adds the personal fields (``owner_name``), so a write returns what it took."""
    columns = OFFICER_RECORD_COLUMNS if personal else RECORD_COLUMNS
    query = sql.SQL("SELECT {}, ST_AsText(geom) FROM growing_area WHERE id = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    row = await (await conn.execute(query, (gid,))).fetchone()
    if row is None:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    props = dict(zip(columns, row[:-1], strict=True))
    props["area_ha"] = float(props["area_ha"])
    return props, shapely.from_wkt(row[-1])


async def history(
    conn: AsyncConnection, gid: int, *, public_only: bool = False
) -> list[dict[str, Any]]:
    """Every version of an area. ``public_only`` (anonymous readers): the layer's public
    fields only, without officers' names or their free-text notes."""
    rows = await (
        await conn.execute(
            "SELECT version, operation, changed_at, changed_by, record, ST_AsGeoJSON(geom, 7) "
            "FROM growing_area_history WHERE growing_area_id = %s ORDER BY id",
            (gid,),
        )
    ).fetchall()
    if not rows:
        raise NotFound(f"Không có vùng trồng số {gid}.", f"No growing area with id {gid}.")
    hidden = {"owner_name", "registered_by"}  # personal data stays out of every history
    public = {"id", *(c.name for c in LAYER.properties)}
    out = []
    for version, op, at, by, record, geojson in rows:
        props = {k: v for k, v in record.items() if k not in hidden}
        if public_only:
            props = {k: v for k, v in props.items() if k in public}
        entry = {
            "version": version, "operation": op, "changed_at": at.isoformat(),
            "changed_by": by, "properties": props, "geometry": json.loads(geojson),
        }  # fmt: skip
        if public_only:
            del entry["changed_by"]
        out.append(entry)
    return out


EXPORT_SQL = (files("layers") / "growing_area_export.sql").read_text()
EXPORT_NAMES = ("commune_name", "village_code", "village_name", "province_name")


async def export_features(
    conn: AsyncConnection,
    *,
    gid: int | None = None,
    ids: list[int] | None = None,
    commune: str | None = None,
    status: str | None = None,
    crop: str | None = None,
) -> list[ExportFeature]:
    """The areas an export holds (the layer's stored export columns, with the names of their
    commune, village and province), ordered by code. Public fields only: nothing here is a
    note, an officer's name or personal data, whoever asks."""
    query = sql.SQL(EXPORT_SQL).format(
        columns=sql.SQL(", ").join(sql.Identifier("g", c) for c in EXPORT_COLUMNS)
    )
    params = {"id": gid, "ids": ids, "commune": commune, "status": status, "crop": crop}
    rows = await (await conn.execute(query, params)).fetchall()
    keys = (*EXPORT_COLUMNS, *EXPORT_NAMES)
    return [
        ExportFeature(dict(zip(keys, r[:-1], strict=True)), shapely.from_wkb(r[-1])) for r in rows
    ]


async def commune_and_province_names(
    conn: AsyncConnection, commune: str
) -> tuple[str | None, str | None]:
    row = await (
        await conn.execute(
            "SELECT c.name, p.name FROM commune c JOIN province p ON p.code = c.province_code "
            "WHERE c.code = %s",
            (commune,),
        )
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


async def area_place_names(conn: AsyncConnection, gid: int) -> dict[str, str | None]:
    """The commune, province and village an area lies in, by name, as its exports name them
    (the village holding most of the area)."""
    found = await export_features(conn, gid=gid)
    record = found[0].properties if found else {}
    return {
        "commune": record.get("commune_name"), "province": record.get("province_name"),
        "village": record.get("village_name"), "village_code": record.get("village_code"),
    }  # fmt: skip


async def find_by_code(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    """The registered area holding a code (its public fields), if the code is ours."""
    keys = ("id", "code", "crop", "area_ha", "status", "commune_code", "issued_on")
    query = sql.SQL("SELECT {} FROM growing_area WHERE code = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, keys))
    )
    row = await (await conn.execute(query, (code,))).fetchone()
    if row is None:
        return None
    found = dict(zip(keys, row, strict=True))
    found["area_ha"] = float(found["area_ha"]) if found["area_ha"] is not None else None
    found["issued_on"] = found["issued_on"].isoformat() if found["issued_on"] else None
    return found


async def look_up_code(
    conn: AsyncConnection, text: str, *, layouts: tuple[codes.CodeLayout, ...]
) -> dict[str, Any]:
    """Any spelling of a code read into its parts (``geo.codes.describe``) and the registered
    area holding it if it is ours; an invalid code raises InvalidInput naming the wrong part."""
    checked = codes.validate_any(text, layouts=layouts)
    return {**codes.describe(checked), "registered": await find_by_code(conn, checked.code)}
