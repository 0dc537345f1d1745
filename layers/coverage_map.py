"""What the planner's coverage map draws (bản đồ phủ sóng): the switches' choices, the current
coverage polygons of a selection and households as served / unserved dots."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from geo.errors import InvalidInput, NotFound

from .coverage_indicators import EVERYTHING, SERVED, Selection, selection_params

OPTIONS_OPERATORS = "SELECT DISTINCT operator FROM coverage_version ORDER BY operator"
OPTIONS_TIERS = """
SELECT code, technology, label_vi, label_en FROM coverage_tier ORDER BY technology, code
"""
OPTIONS_DATES = """
SELECT valid_from, operator, technology FROM coverage_version ORDER BY valid_from, operator, technology
"""
COMMUNE = """
SELECT c.code, c.name, c.province_code, p.name AS province_name,
       ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM commune c JOIN province p ON p.code = c.province_code,
     LATERAL (SELECT coalesce(c.geom, (SELECT ST_Extent(v.geom)::geometry FROM village v
                                       WHERE v.commune_code = c.code)) AS e) b
WHERE c.code = %s
"""
PROVINCE = """
SELECT p.code, p.name, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM province p,
     LATERAL (SELECT coalesce(
         (SELECT ST_Extent(c.geom)::geometry FROM commune c WHERE c.province_code = p.code),
         (SELECT ST_Extent(v.geom)::geometry FROM village v JOIN commune c ON c.code = v.commune_code
          WHERE c.province_code = p.code)) AS e) b
WHERE p.code = %s
"""
POLYGONS_SQL = (files("layers") / "coverage_polygons.sql").read_text()
# The households of the scope as dots, served or not by the selection; no name, no label.
HOUSEHOLDS_SQL = (
    SERVED
    + """
SELECT h.village_code, round(ST_X(h.geom)::numeric, 6)::float8, round(ST_Y(h.geom)::numeric, 6)::float8,
       coalesce(f.selected, false)
FROM households h LEFT JOIN flags f ON f.household_id = h.id
ORDER BY h.id
LIMIT %(cap)s
"""
)
HOUSEHOLD_CAP = 50_000
OUTLINES_SQL = """
SELECT v.code, ST_AsGeoJSON(ST_SimplifyPreserveTopology(v.geom, 0.00005), 6)
FROM village v WHERE v.commune_code = %s AND v.geom IS NOT NULL ORDER BY v.code
"""


async def village_outlines(conn: AsyncConnection, *, commune_code: str) -> list[dict[str, Any]]:
    """A commune's villages' outlines (code and GeoJSON geometry), for the printed map."""
    rows = await (await conn.execute(OUTLINES_SQL, (commune_code,))).fetchall()
    return [{"code": code, "geometry": orjson.loads(geom)} for code, geom in rows]


async def options(conn: AsyncConnection) -> dict[str, Any]:
    """The choices the page's switches offer: operators, tiers and the dates of versions."""
    operators = [r[0] for r in await (await conn.execute(OPTIONS_OPERATORS)).fetchall()]
    cur = await conn.cursor(row_factory=dict_row).execute(OPTIONS_TIERS)
    tiers = await cur.fetchall()
    dates = await (await conn.execute(OPTIONS_DATES)).fetchall()
    return {
        "operators": operators,
        "tiers": tiers,
        "versions": [
            {"valid_from": d.isoformat(), "operator": o, "technology": t} for d, o, t in dates
        ],
    }


async def commune(conn: AsyncConnection, code: str) -> dict[str, Any]:
    """A commune's name, province and bounds (lon_min, lat_min, lon_max, lat_max)."""
    row = await (await conn.execute(COMMUNE, (code,))).fetchone()
    if row is None:
        raise NotFound(
            f"Không có xã mã {code}.",
            f"No commune with code {code}.",
            hint_vi="Mã xã gồm 5 chữ số, ví dụ 02923.",
            hint_en="A commune code has 5 digits, e.g. 02923.",
        )
    bounds = tuple(row[4:8]) if row[4] is not None else None
    return {"code": row[0], "name": row[1], "province_code": row[2], "province_name": row[3],
            "bounds": bounds}  # fmt: skip


async def province(conn: AsyncConnection, code: str) -> dict[str, Any]:
    """A province's name and bounds (lon_min, lat_min, lon_max, lat_max) over its communes."""
    row = await (await conn.execute(PROVINCE, (code,))).fetchone()
    if row is None:
        raise NotFound(
            f"Không có tỉnh mã {code}.",
            f"No province with code {code}.",
            hint_vi="Mã tỉnh gồm 2 chữ số, ví dụ 15 (Lào Cai).",
            hint_en="A province code has 2 digits, e.g. 15 (Lào Cai).",
        )
    bounds = tuple(row[2:6]) if row[2] is not None else None
    return {"code": row[0], "name": row[1], "bounds": bounds}


async def polygons(conn: AsyncConnection, *, selection: Selection = EVERYTHING) -> dict[str, Any]:
    """The coverage polygons current on ``as_of`` for the selection, one feature per operator,
    technology and tier, clipped to nothing (the map shows what the operator claims)."""
    params = await selection_params(conn, selection)
    text = (await (await conn.execute(POLYGONS_SQL, params)).fetchone())[0]
    return {"type": "FeatureCollection", "as_of": params["as_of"].isoformat(),
            "features": orjson.loads(text)}  # fmt: skip


async def household_dots(conn: AsyncConnection, *, selection: Selection) -> dict[str, Any]:
    """The scope's households as points with ``served`` for the selection (no personal data:
    no name, label or code). A scope over ``HOUSEHOLD_CAP`` households is refused."""
    if selection.level is None:
        raise InvalidInput(
            "Cần chọn phạm vi (level và code) để xem các hộ.",
            "A scope (level and code) is needed to list households.",
            hint_vi="Ví dụ: level=commune&code=02923.",
            hint_en="For example: level=commune&code=02923.",
        )
    params = await selection_params(conn, selection)
    rows = await (
        await conn.execute(HOUSEHOLDS_SQL, {**params, "cap": HOUSEHOLD_CAP + 1})
    ).fetchall()
    if len(rows) > HOUSEHOLD_CAP:
        raise InvalidInput(
            f"Phạm vi có hơn {HOUSEHOLD_CAP:,} hộ, quá nhiều để vẽ từng hộ.".replace(",", "."),
            f"The scope holds over {HOUSEHOLD_CAP:,} households, too many to draw one by one.",
            hint_vi="Chọn một xã hoặc một thôn; với tỉnh, xem các ô lục giác.",
            hint_en="Choose a commune or a village; for a province, see the hexagons.",
        )
    return {
        "type": "FeatureCollection",
        "as_of": params["as_of"].isoformat(),
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
             "properties": {"village_code": v, "served": s}}
            for v, x, y, s in rows
        ],
    }  # fmt: skip
